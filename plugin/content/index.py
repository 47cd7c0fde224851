"""What the content defines: resources by canonical url, and the property URIs CodeSystems declare."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from plugin.content.problems import Located

ENUMERABLE_CONTENT = {"complete", "fragment"}


def split_canonical(canonical: str) -> tuple[str, str | None]:
    url, _, version = canonical.partition("|")
    return url, version or None


def flatten(
    concepts: Any, path: tuple[str | int, ...] = ("concept",)
) -> Iterator[tuple[tuple[str | int, ...], dict]]:
    """Every concept of a CodeSystem (nested ones too) with its path below the CodeSystem."""
    if not isinstance(concepts, list):
        return
    for index, concept in enumerate(concepts):
        if isinstance(concept, dict):
            here = (*path, index)
            yield here, concept
            yield from flatten(concept.get("concept"), (*here, "concept"))


@dataclass
class Index:
    by_url: dict[str, list[Located]] = field(default_factory=dict)
    property_uris: set[str] = field(default_factory=set)

    @classmethod
    def build(cls, located: list[Located]) -> Index:
        index = cls()
        for loc in located:
            url = loc.resource.get("url")
            if isinstance(url, str) and url:
                index.by_url.setdefault(url, []).append(loc)
            if loc.resource_type == "CodeSystem":
                for prop in loc.resource.get("property") or []:
                    if isinstance(prop, dict) and isinstance(prop.get("uri"), str):
                        index.property_uris.add(prop["uri"])
        return index

    def find(self, canonical: str, resource_type: str) -> list[Located]:
        """Resources of that type with the canonical's url (and its version, when pinned)."""
        url, version = split_canonical(canonical)
        found = [loc for loc in self.by_url.get(url, []) if loc.resource_type == resource_type]
        if version is not None:
            found = [loc for loc in found if loc.resource.get("version") == version]
        return found

    def code_system_codes(self, system: str, version: str | None = None) -> dict[str, dict] | None:
        """Concepts by code across the versions of `system` we hold with enumerable content (complete or
        fragment); None when we hold no such CodeSystem, i.e. codes cannot be checked."""
        canonical = f"{system}|{version}" if version else system
        systems = [
            loc
            for loc in self.find(canonical, "CodeSystem")
            if loc.resource.get("content") in ENUMERABLE_CONTENT
        ]
        if not systems:
            return None
        codes: dict[str, dict] = {}
        for loc in systems:
            for _path, concept in flatten(loc.resource.get("concept")):
                if isinstance(concept.get("code"), str):
                    codes.setdefault(concept["code"], concept)
        return codes

    def code_system_content(self, system: str) -> set[str]:
        return {str(loc.resource.get("content")) for loc in self.find(system, "CodeSystem")}

    def declared_properties(self, system: str) -> dict[str, dict] | None:
        systems = self.find(system, "CodeSystem")
        if not systems:
            return None
        declared: dict[str, dict] = {}
        for loc in systems:
            for prop in loc.resource.get("property") or []:
                if isinstance(prop, dict) and isinstance(prop.get("code"), str):
                    declared.setdefault(prop["code"], prop)
        return declared

    def resolves_property(self, uri: str) -> bool:
        """A dependsOn property URI we can account for: a declared property uri or a CodeSystem url."""
        return uri in self.property_uris or bool(self.find(uri, "CodeSystem"))
