"""Loading is separate from answering: the registry holds every terminology resource we know of.

Resources are plain FHIR JSON dicts, indexed by canonical `url` and by `url|version`. A request that
carries `tx-resource` parameters gets an overlay: a registry that sees those resources first and
falls back to the shared one, so nothing leaks between requests.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plugin.terminology.model import shape
from plugin.terminology.model.packages import PackageError, package_json_files

log = logging.getLogger(__name__)

TERMINOLOGY_TYPES = frozenset({"CodeSystem", "ValueSet", "ConceptMap", "NamingSystem"})
# Resources we also serve read/search for, though no terminology operation works on them.
CONFORMANCE_TYPES = TERMINOLOGY_TYPES | {"Questionnaire"}


class LoadError(ValueError):
    """A file or package that cannot be loaded; the message names it."""


@dataclass
class Registry:
    """Canonical resources by url and url|version; optionally layered over a parent registry."""

    parent: Registry | None = None
    _by_url: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _by_id: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _origin: dict[int, str] = field(default_factory=dict)
    _supplements: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _cache: dict[Any, Any] = field(default_factory=dict)
    # Keeps every added resource alive, so id()-based origin and cache keys stay valid.
    _held: list[dict[str, Any]] = field(default_factory=list)

    def add(self, resource: dict[str, Any], origin: str = "", *, built: bool = False) -> None:
        """Index one resource; a later resource with the same url|version replaces the earlier one.

        `built` marks a resource the product's own loader built (ICD-10-CM from the CDC tabular): its shape
        holds by construction and is tested once, so the check that costs a second on 98,000 concepts is
        not paid by every app a process creates."""
        rtype = resource.get("resourceType")
        if rtype not in CONFORMANCE_TYPES:
            raise LoadError(f"{origin or 'resource'}: resourceType {rtype!r} is not a terminology resource")
        malformed = [] if built else shape.problems(resource)
        if malformed:
            raise LoadError(f"{origin or 'resource'}: " + "; ".join(malformed))
        url = resource.get("url")
        if url:
            versions = self._by_url.setdefault(url, [])
            version = resource.get("version")
            versions[:] = [r for r in versions if r.get("version") != version]
            versions.append(resource)
        if resource.get("id"):
            self._by_id[(rtype, resource["id"])] = resource
        if rtype == "CodeSystem" and resource.get("content") == "supplement" and resource.get("supplements"):
            target = str(resource["supplements"]).partition("|")[0]
            self._supplements.setdefault(target, []).append(resource)
        self._origin[id(resource)] = origin
        self._held.append(resource)
        self._cache.clear()

    def add_all(self, resources: Iterable[tuple[dict[str, Any], str]]) -> None:
        for resource, origin in resources:
            self.add(resource, origin)

    def overlay(self) -> Registry:
        """A per-request registry: what is added to it is seen first, the shared registry after."""
        return Registry(parent=self)

    def versions(self, url: str) -> list[dict[str, Any]]:
        """Every version of a canonical, this layer's first."""
        own = list(self._by_url.get(url, []))
        inherited = self.parent.versions(url) if self.parent else []
        own_versions = {r.get("version") for r in own}
        return own + [r for r in inherited if r.get("version") not in own_versions]

    def get(self, canonical: str, version: str | None = None) -> dict[str, Any] | None:
        """Resolve `url`, `url|version` or (url, version); without a version, the latest one."""
        url, _, pinned = canonical.partition("|")
        version = version or pinned or None
        candidates = self.versions(url)
        if version is not None:
            return next((r for r in candidates if r.get("version") == version), None)
        if not candidates:
            return None
        if len(candidates) == 1:
            return candidates[0]
        return max(candidates, key=lambda r: _version_key(r.get("version")))

    def supplements(self, url: str) -> list[dict[str, Any]]:
        """CodeSystem supplements whose `supplements` names `url` (any version), this layer's first."""
        own = list(self._supplements.get(url, []))
        return own + (self.parent.supplements(url) if self.parent else [])

    def owns(self, resource: dict[str, Any]) -> bool:
        return id(resource) in self._origin

    def cached(self, key: Any, resources: list[dict[str, Any]], build: Any) -> Any:
        """A value derived from `resources` (e.g. a code system index), built once and kept by the
        innermost layer that holds any of them - so a request overlay's derived data dies with it and
        shared resources are indexed once per process. Resources no layer holds are not cached."""
        layer: Registry | None = self
        while layer is not None:
            if any(layer.owns(r) for r in resources):
                break
            layer = layer.parent
        if layer is None:
            return build()
        found = layer._cache.get(key)
        if found is None:
            found = build()
            layer._cache[key] = found
        return found

    def by_id(self, resource_type: str, resource_id: str) -> dict[str, Any] | None:
        found = self._by_id.get((resource_type, resource_id))
        if found is None and self.parent is not None:
            return self.parent.by_id(resource_type, resource_id)
        return found

    def every(self, resource_type: str) -> Iterator[dict[str, Any]]:
        """Every resource of a type ever added, this layer's first - including ones a later
        resource with the same url|version or id shadows (a request may carry such duplicates)."""
        layer: Registry | None = self
        while layer is not None:
            for resource in layer._held:
                if resource.get("resourceType") == resource_type:
                    yield resource
            layer = layer.parent

    def resources(self, resource_type: str | None = None) -> Iterator[dict[str, Any]]:
        seen: set[tuple[str, str]] = set()
        layer: Registry | None = self
        while layer is not None:
            for (rtype, rid), resource in layer._by_id.items():
                if (resource_type is None or rtype == resource_type) and (rtype, rid) not in seen:
                    seen.add((rtype, rid))
                    yield resource
            for resource in layer._held:  # resources without an id (e.g. a request's tx-resource)
                if not resource.get("id") and resource_type in (None, resource.get("resourceType")):
                    yield resource
            layer = layer.parent

    def origin(self, resource: dict[str, Any]) -> str:
        layer: Registry | None = self
        while layer is not None:
            if id(resource) in layer._origin:
                return layer._origin[id(resource)]
            layer = layer.parent
        return ""


def _version_key(version: str | None) -> tuple[Any, ...]:
    """Order versions numerically where they are dotted numbers, else as text."""
    if not version:
        return (0,)
    parts = [(1, int(p), "") if p.isdigit() else (0, 0, p) for p in version.replace("-", ".").split(".")]
    return (1, *parts)


def iter_directory(path: Path) -> Iterator[tuple[dict[str, Any], str]]:
    """Every terminology resource in the JSON files under `path` (Bundles are opened)."""
    for file in sorted(path.rglob("*.json")):
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise LoadError(f"{file}: cannot read JSON: {exc}") from exc
        yield from _terminology_resources(data, str(file))


def iter_package(path: Path) -> Iterator[tuple[dict[str, Any], str]]:
    """Every terminology resource in a FHIR NPM package tarball (package/*.json)."""
    try:
        for name, raw in package_json_files(path, CONFORMANCE_TYPES):
            try:
                data = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise LoadError(f"{path}!{name}: cannot read JSON: {exc}") from exc
            yield from _terminology_resources(data, f"{path}!{name}")
    except PackageError as exc:
        raise LoadError(f"{path}: not a readable package tarball: {exc}") from exc


def _terminology_resources(data: Any, origin: str) -> Iterator[tuple[dict[str, Any], str]]:
    if not isinstance(data, dict):
        return
    if data.get("resourceType") == "Bundle":
        for index, entry in enumerate(data.get("entry") or []):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and resource.get("resourceType") in CONFORMANCE_TYPES:
                yield resource, f"{origin}#entry[{index}]"
    elif data.get("resourceType") in CONFORMANCE_TYPES:
        yield data, origin


def load_packages(packages: Iterable[Path], parent: Registry | None = None) -> Registry:
    """A registry layer holding the terminology resources of FHIR NPM packages, over `parent`."""
    registry = Registry(parent=parent)
    for package in packages:
        registry.add_all(iter_package(package))
    return registry


def load_registry(
    folders: Iterable[Path], packages: Iterable[Path] = (), parent: Registry | None = None
) -> Registry:
    registry = Registry(parent=parent)
    for folder in folders:
        if not folder.is_dir():
            raise LoadError(f"{folder}: content folder does not exist")
        registry.add_all(iter_directory(folder))
    for package in packages:
        registry.add_all(iter_package(package))
    return registry
