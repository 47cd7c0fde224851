"""Per-request state of a terminology operation: the resources it may see and the options it was given.

`TxOptions` (options.py) interprets the operation parameters shared by every operation;
`TxContext` resolves code systems and value sets through the request's registry overlay,
applying the version rules (`system-version`, `force-system-version`, `check-system-version`,
`default-valueset-version`...).
"""

from __future__ import annotations

import contextlib
from typing import Any

from plugin.terminology.errors import TxError, tx_error
from plugin.terminology.model import versioning
from plugin.terminology.model.codesystem import CodeSystemView, is_lang_pack, primitive, view_for
from plugin.terminology.model.languages import LanguageError, parse_accept_language
from plugin.terminology.model.options import TxOptions, VersionRule
from plugin.terminology.model.registry import Registry

__all__ = ["TxContext", "TxError", "TxOptions", "VersionRule", "tx_error"]

EXT_EXPANSION_PARAMETER = (
    "http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter",
    "http://hl7.org/fhir/tools/StructureDefinition/valueset-expansion-parameter",
)
EXT_VS_SUPPLEMENT = "http://hl7.org/fhir/StructureDefinition/valueset-supplement"


class TxContext:
    """What one operation may see (registry overlay) and how it was asked (options)."""

    def __init__(self, registry: Registry, options: TxOptions, fhir_version: str = "R5") -> None:
        self.registry = registry
        self.options = options
        self.fhir_version = fhir_version
        self.used_rules: list[VersionRule] = []
        self.required_supplements: set[str] = set(options.supplements)
        self.used_supplements: set[str] = set()

    # -- versions ------------------------------------------------------------------------------
    def determine_version(self, url: str, version: str | None, valueset: bool = False) -> str | None:
        """The version to use for `url`, after the request's version rules."""
        rules = self.options.rules_for(url, valueset)
        result = version or None
        overrides = [r for r in rules if r.mode == "override"]
        if overrides:
            if len({r.version for r in overrides}) > 1:
                raise tx_error(
                    400,
                    "SYSTEM_VERSION_MULTIPLE_OVERRIDE",
                    url,
                    overrides[0].version,
                    overrides[1].version,
                    code="exception",
                    tx_type="version-error",
                )
            self._used(overrides[0])
            return overrides[0].version
        if not result:
            defaults = [r for r in rules if r.mode == "default"]
            if defaults:
                self._used(defaults[0])
                result = defaults[0].version
        if not result:
            checks = [r for r in rules if r.mode == "check"]
            if checks:
                self._used(checks[0])
                result = checks[0].version
        return result

    def _used(self, rule: VersionRule) -> None:
        if rule not in self.used_rules:
            self.used_rules.append(rule)

    def version_check_failure(self, url: str, actual: str | None) -> TxError | None:
        for rule in self.options.rules_for(url):
            if rule.mode == "check" and not versioning.version_matches(rule.version, actual):
                return tx_error(
                    400,
                    "VALUESET_VERSION_CHECK",
                    url,
                    actual or "",
                    rule.version,
                    code="exception",
                    tx_type="version-error",
                )
        return None

    # -- code systems ------------------------------------------------------------------------
    def code_system_versions(self, url: str) -> list[str]:
        found = {
            r.get("version")
            for r in self.registry.versions(url)
            if r.get("resourceType") == "CodeSystem" and r.get("content") != "supplement" and r.get("version")
        }
        return versioning.sort_versions(v for v in found if v)

    def code_system_resource(self, url: str, version: str | None = None) -> dict[str, Any] | None:
        """The CodeSystem for url and (exact, wildcard or partial) version; latest when unversioned."""
        candidates = [r for r in self.registry.versions(url) if r.get("resourceType") == "CodeSystem"]
        if version:
            exact = [r for r in candidates if r.get("version") == version]
            if exact:
                return exact[0]
            candidates = [r for r in candidates if versioning.version_matches(version, r.get("version"))]
        return versioning.latest(candidates)

    def supplement_resource(self, url: str, version: str | None = None) -> dict[str, Any] | None:
        found = self.code_system_resource(url, version)
        return found if found is not None and found.get("content") == "supplement" else None

    def code_system(
        self, url: str | None, version: str | None = None, *, rules: bool = True
    ) -> CodeSystemView | None:
        """An indexed code system (supplements applied), or None when unknown or only a supplement."""
        if not url:
            return None
        if rules:
            version = self.determine_version(url, version)
        resource = self.code_system_resource(url, version)
        if resource is None or resource.get("content") == "supplement":
            return None
        supplements = self.supplements_for(resource)
        return self.view(resource, supplements)

    def view(self, resource: dict[str, Any], supplements: list[dict[str, Any]]) -> CodeSystemView:
        key = ("cs-view", id(resource), tuple(id(s) for s in supplements))
        view = self.registry.cached(key, [resource, *supplements], lambda: view_for(resource, supplements))
        for reference in self.required_supplements:
            if view.has_supplement(reference):
                self.used_supplements.add(reference)
        return view

    def supplements_for(self, resource: dict[str, Any]) -> list[dict[str, Any]]:
        url, version = resource.get("url", ""), resource.get("version")
        out: list[dict[str, Any]] = []
        for supplement in self.registry.supplements(url):
            target, _, target_version = str(supplement.get("supplements", "")).partition("|")
            if target != url:
                continue
            if target_version and version and not versioning.version_matches(target_version, version):
                continue
            if is_lang_pack(supplement) or self._supplement_requested(supplement):
                out.append(supplement)
        return out

    def _supplement_requested(self, supplement: dict[str, Any]) -> bool:
        url, version = supplement.get("url"), supplement.get("version")
        for reference in self.required_supplements:
            ref_url, _, ref_version = reference.partition("|")
            if ref_url == url and (not ref_version or ref_version == version):
                return True
        return False

    def missing_supplements(self) -> list[str]:
        return sorted(s for s in self.required_supplements if s not in self.used_supplements)

    def require_supplements_of(self, value_set: dict[str, Any]) -> None:
        for ext in value_set.get("extension") or []:
            if (
                isinstance(ext, dict)
                and ext.get("url") == EXT_VS_SUPPLEMENT
                and isinstance(primitive(ext), str)
            ):
                self.required_supplements.add(primitive(ext))

    # -- value sets ------------------------------------------------------------------------------
    def value_set(
        self, reference: str, version: str | None = None, source: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        if reference.startswith("#"):
            for contained in (source or {}).get("contained") or []:
                if (
                    isinstance(contained, dict)
                    and contained.get("resourceType") == "ValueSet"
                    and contained.get("id") == reference[1:]
                ):
                    return contained
            return None
        url, _, pinned = reference.partition("|")
        version = version or pinned or None
        version = self.determine_version(url, version, valueset=True)
        candidates = [r for r in self.registry.versions(url) if r.get("resourceType") == "ValueSet"]
        if not candidates:
            return self._implicit_value_set(url, version)
        if version:
            exact = [r for r in candidates if r.get("version") == version]
            if exact:
                return exact[0]
            candidates = [r for r in candidates if versioning.version_matches(version, r.get("version"))]
        return versioning.latest(candidates)

    def _implicit_value_set(self, url: str, version: str | None) -> dict[str, Any] | None:
        """The value sets a code system implies: `[system]?fhir_vs` (all codes),
        `[system]?fhir_vs=isa/[code]` (the code and its descendants), and the all-codes value set a
        CodeSystem names in `CodeSystem.valueSet`."""
        base, marker, query = url.partition("?")
        system, spec = base, ""
        if marker:
            if query != "fhir_vs" and not query.startswith("fhir_vs="):
                return None
            spec = query.partition("=")[2]
        else:
            declaring = next(
                (r for r in self.registry.resources("CodeSystem") if r.get("valueSet") == url), None
            )
            if declaring is None:
                return None
            system = str(declaring.get("url") or "")
        if not system or self.code_system_resource(system, version) is None:
            return None
        include: dict[str, Any] = {"system": system}
        if version:
            include["version"] = version
        if spec.startswith("isa/") and len(spec) > 4:
            include["filter"] = [{"property": "concept", "op": "is-a", "value": spec[4:]}]
        elif spec:
            return None
        implicit: dict[str, Any] = {"resourceType": "ValueSet", "url": url, "status": "active"}
        if version:
            implicit["version"] = version
        implicit["compose"] = {"include": [include]}
        return implicit

    def apply_value_set_parameters(self, value_set: dict[str, Any]) -> None:
        """Expansion parameters a value set declares on its compose; the request's own win."""
        compose = value_set.get("compose") or {}
        for ext in compose.get("extension") or [] if isinstance(compose, dict) else []:
            if not isinstance(ext, dict) or ext.get("url") not in EXT_EXPANSION_PARAMETER:
                continue
            parts = {e.get("url"): e for e in ext.get("extension") or [] if isinstance(e, dict)}
            name = primitive(parts.get("name", {})) if "name" in parts else None
            if isinstance(name, str) and "value" in parts:
                self.options.see(name, parts["value"], overwrite=False)
        if self.options.http_languages is None and isinstance(value_set.get("language"), str):
            with contextlib.suppress(LanguageError):
                self.options.http_languages = parse_accept_language(value_set["language"])
