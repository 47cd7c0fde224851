"""Small helpers over FHIR resource dicts shared by the terminology engine."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from plugin.terminology.model import versioning
from plugin.terminology.model.codesystem import Designation, designation_from, primitive

EXT_STANDARDS_STATUS = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status"
EXT_VS_DEPRECATED = "http://hl7.org/fhir/StructureDefinition/valueset-deprecated"
ABSOLUTE_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def vurl(resource: dict[str, Any]) -> str:
    """`url|version` (or just url) of a canonical resource."""
    url = resource.get("url") or ""
    return f"{url}|{resource['version']}" if url and resource.get("version") else url


def add_path(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def walk_contains(items: list[Any]) -> Iterator[dict[str, Any]]:
    for item in items:
        if isinstance(item, dict):
            yield item
            yield from walk_contains(item.get("contains") or [])


def standards_status(element: dict[str, Any]) -> str | None:
    for ext in element.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == EXT_STANDARDS_STATUS:
            value = primitive(ext)
            return str(value) if value is not None else None
    return None


def has_extension(element: dict[str, Any], url: str) -> bool:
    return any(isinstance(e, dict) and e.get("url") == url for e in element.get("extension") or [])


def include_designations(ref: dict[str, Any], value_set: dict[str, Any]) -> list[Designation]:
    """Displays a value set gives a concept it lists (display in the value set's language, designations)."""
    out = []
    if isinstance(ref.get("display"), str) and ref["display"].strip():
        out.append(Designation(ref["display"].strip(), value_set.get("language"), None))
    out.extend(
        designation_from(raw, None)
        for raw in ref.get("designation") or []
        if isinstance(raw, dict) and isinstance(raw.get("value"), str)
    )
    return out


def newest_first(includes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Includes of one system with explicit versions, newest version first; others keep their place."""
    out = list(includes)
    changed = True
    while changed:
        changed = False
        for i in range(len(out) - 1):
            a, b = out[i], out[i + 1]
            if (
                a.get("system")
                and a.get("system") == b.get("system")
                and a.get("version")
                and b.get("version")
                and versioning.compare_versions(a["version"], b["version"]) < 0
            ):
                out[i], out[i + 1] = b, a
                changed = True
    return out


ALL_VERSIONS = "*"  # ValueSet.compose.include.version: "the special value '*' means all versions" (R5)


def each_version(
    items: list[dict[str, Any]], versions_of: Any, versionless: frozenset[str] | set[str] = frozenset()
) -> list[tuple[dict[str, Any], int]]:
    """Each include/exclude with its index; one naming the special version `*`, or naming no
    version for a system in `versionless`, stands for one copy per version `versions_of(system)`
    lists, so every version of the code system takes part (each keeps its version)."""
    out: list[tuple[dict[str, Any], int]] = []
    for index, item in enumerate(items):
        system = item.get("system")
        every = item.get("version") == ALL_VERSIONS or (not item.get("version") and system in versionless)
        versions = versions_of(system) if system and every else []
        if versions:
            out.extend(({**item, "version": version}, index) for version in versions)
        else:
            out.append((item, index))
    return out
