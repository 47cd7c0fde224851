"""A code system as the engine sees it: concepts indexed by code, hierarchy, status, designations.

`CodeSystemView` is built once per (CodeSystem resource, supplements) pair and cached by the
registry layer that owns the resources (see `Registry.cached`), so a request's `tx-resource`
overlay never leaks indexes into the shared registry. Supplements add designations, properties and
extensions to the base concepts; their content is marked with the supplement's canonical.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from plugin.terminology.model.textsearch import TextIndex

EXT_STANDARDS_STATUS = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status"
EXT_CONCEPT_ORDER = "http://hl7.org/fhir/StructureDefinition/codesystem-conceptOrder"
EXT_LABEL = "http://hl7.org/fhir/StructureDefinition/codesystem-label"
EXT_ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
EXT_SUPPLEMENT_TYPE = "http://hl7.org/fhir/StructureDefinition/codesystem-supplement-type"
CP = "http://hl7.org/fhir/concept-properties#"
PREFERRED_FOR_LANGUAGE = {
    "system": "http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra",
    "code": "preferredForLanguage",
    "display": "Preferred For Language",
}
_PREFERRED_USES = {
    ("http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra", "preferredForLanguage"),
    ("http://snomed.info/sct", "900000000000548007"),
    ("http://snomed.info/sct", "900000000000013009"),
}
# Concept extensions that the expansion reports as concept properties (R5 expansion.property).
EXTENSION_PROPERTIES = {
    EXT_ITEM_WEIGHT: ("weight", CP + "itemWeight"),
    EXT_LABEL: ("label", CP + "label"),
    EXT_CONCEPT_ORDER: ("order", CP + "order"),
}


# A code system too large for the generic index (ICD-10-CM, ~98,000 concepts) can register a leaner
# view for its resources here: called instead of CodeSystemView(resource) when no supplement applies;
# it returns None to decline. See plugin/content/icd10cm_view.py.
VIEW_FACTORIES: list[Callable[[dict[str, Any]], CodeSystemView | None]] = []


def view_for(resource: dict[str, Any], supplements: list[dict[str, Any]]) -> CodeSystemView:
    if not supplements:
        for factory in VIEW_FACTORIES:
            view = factory(resource)
            if view is not None:
                return view
    return CodeSystemView(resource, supplements)


def value_of(element: dict[str, Any]) -> tuple[str, Any] | None:
    """The (valueX key, value) of a property, parameter or extension."""
    for key, value in element.items():
        if key.startswith("value") and len(key) > 5:
            return key, value
    return None


def primitive(element: dict[str, Any]) -> Any:
    found = value_of(element)
    return found[1] if found else None


class Designation:
    __slots__ = ("extensions", "is_display", "language", "source", "status", "use", "value")

    def __init__(
        self,
        value: str,
        language: str | None = None,
        use: dict[str, Any] | None = None,
        *,
        is_display: bool = False,
        status: str = "active",
        extensions: list[dict[str, Any]] | None = None,
        source: str | None = None,
    ) -> None:
        self.value = value
        self.language = language or None
        self.use = use
        self.is_display = is_display
        self.status = status
        self.extensions = extensions or []
        self.source = source

    @property
    def active(self) -> bool:
        return self.status not in ("withdrawn", "inactive", "retired", "deprecated")

    @property
    def preferred(self) -> bool:
        """A display-like designation (no use, or a use that means 'the display')."""
        if self.is_display or not self.use:
            return True
        return (self.use.get("system"), self.use.get("code")) in _PREFERRED_USES

    def to_fhir(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.extensions:
            out["extension"] = list(self.extensions)
        if self.language:
            out["language"] = self.language
        if self.use:
            out["use"] = self.use
        out["value"] = self.value
        return out


class Concept:
    __slots__ = (
        "children",
        "code",
        "definition",
        "designations",
        "display",
        "extensions",
        "parents",
        "properties",
        "raw",
    )

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.code: str = raw["code"]
        self.display: str | None = raw.get("display")
        self.definition: str | None = raw.get("definition")
        self.designations: list[Designation] = []
        self.properties: list[dict[str, Any]] = list(raw.get("property") or [])
        self.extensions: list[dict[str, Any]] = list(raw.get("extension") or [])
        self.parents: list[str] = []
        self.children: list[str] = []

    def extension(self, url: str) -> Any:
        for ext in self.extensions:
            if ext.get("url") == url:
                return primitive(ext)
        return None


class CodeSystemView:
    """Read-only index over one CodeSystem version with its supplements applied."""

    def __init__(self, resource: dict[str, Any], supplements: Iterable[dict[str, Any]] = ()) -> None:
        self.resource = resource
        self.url: str = resource.get("url") or ""
        self.version: str | None = resource.get("version")
        self.content: str = resource.get("content") or "complete"
        self.language: str | None = resource.get("language")
        # An undeclared caseSensitive is treated as insensitive, as the reference servers do.
        self.case_sensitive: bool = resource.get("caseSensitive") is True
        self.supplements: list[dict[str, Any]] = list(supplements)
        self.property_defs: dict[str, dict[str, Any]] = {}
        for prop in resource.get("property") or []:
            if isinstance(prop, dict) and prop.get("code"):
                self.property_defs.setdefault(prop["code"], prop)
        self.concepts: dict[str, Concept] = {}
        self.roots: list[str] = []
        self._root_set: set[str] = set()
        self._folded: dict[str, str] | None = None
        self._build(resource.get("concept") or [], None)
        self._link_property_hierarchy()
        if not self.case_sensitive:
            self._folded = {code.lower(): code for code in self.concepts}
        for concept in self.concepts.values():
            self._base_designations(concept)
        for supplement in self.supplements:
            self._apply_supplement(supplement)
        self._text_index: Any = None
        self._used_properties: set[str] | None = None

    # -- building --------------------------------------------------------------------------
    def _build(self, items: list[Any], parent: Concept | None) -> None:
        for raw in items:
            if not isinstance(raw, dict) or not isinstance(raw.get("code"), str) or not raw["code"]:
                continue
            concept = self.concepts.get(raw["code"])
            if concept is None:
                concept = Concept(raw)
                self.concepts[concept.code] = concept
            if parent is None:
                if concept.code not in self._root_set:
                    self._root_set.add(concept.code)
                    self.roots.append(concept.code)
            else:
                self._link(parent.code, concept.code)
            self._build(raw.get("concept") or [], concept)

    def _link(self, parent: str, child: str) -> None:
        p, c = self.concepts.get(parent), self.concepts.get(child)
        if p is None or c is None or parent == child:
            return
        if child not in p.children:
            p.children.append(child)
        if parent not in c.parents:
            c.parents.append(parent)

    def _link_property_hierarchy(self) -> None:
        parent_codes = {"parent"} | {
            c for c, d in self.property_defs.items() if d.get("uri") == CP + "parent"
        }
        child_codes = {"child"} | {c for c, d in self.property_defs.items() if d.get("uri") == CP + "child"}
        for concept in list(self.concepts.values()):
            for prop in concept.properties:
                value = prop.get("valueCode")
                if not isinstance(value, str):
                    continue
                if prop.get("code") in parent_codes:
                    self._link(value, concept.code)
                elif prop.get("code") in child_codes:
                    self._link(concept.code, value)
        self.roots = [code for code in self.roots if not self.concepts[code].parents]
        rooted = set(self.roots)
        for code, concept in self.concepts.items():
            if not concept.parents and code not in rooted:
                self.roots.append(code)
        del self._root_set

    def _base_designations(self, concept: Concept) -> None:
        if concept.display:
            concept.designations.append(
                Designation(concept.display.strip(), self.language, None, is_display=True)
            )
        for raw in concept.raw.get("designation") or []:
            if isinstance(raw, dict) and isinstance(raw.get("value"), str):
                concept.designations.append(designation_from(raw, None))

    def _apply_supplement(self, supplement: dict[str, Any]) -> None:
        canonical = supplement.get("url", "")
        if supplement.get("version"):
            canonical += "|" + supplement["version"]
        for prop in supplement.get("property") or []:
            if isinstance(prop, dict) and prop.get("code"):
                self.property_defs.setdefault(prop["code"], prop)
        for raw in _walk(supplement.get("concept") or []):
            concept = self.locate(raw["code"])
            if concept is None:
                continue
            if raw.get("display"):
                concept.designations.append(
                    Designation(raw["display"], supplement.get("language"), None, source=canonical)
                )
            for designation in raw.get("designation") or []:
                if isinstance(designation, dict) and isinstance(designation.get("value"), str):
                    concept.designations.append(designation_from(designation, canonical))
            concept.properties.extend(p for p in raw.get("property") or [] if isinstance(p, dict))
            concept.extensions.extend(e for e in raw.get("extension") or [] if isinstance(e, dict))

    # -- lookups ---------------------------------------------------------------------------
    def locate(self, code: str | None) -> Concept | None:
        if not code:
            return None
        found = self.concepts.get(code)
        if found is None and self._folded is not None:
            actual = self._folded.get(code.lower())
            found = self.concepts.get(actual) if actual else None
        return found

    def __iter__(self) -> Iterator[Concept]:
        return iter(self.concepts.values())

    def __len__(self) -> int:
        return len(self.concepts)

    @property
    def canonical(self) -> str:
        return f"{self.url}|{self.version}" if self.version else self.url

    @property
    def has_hierarchy(self) -> bool:
        return len(self.roots) < len(self.concepts)

    def supplement_canonicals(self) -> list[str]:
        return [
            f"{s.get('url')}|{s['version']}" if s.get("version") else s.get("url", "")
            for s in self.supplements
        ]

    def has_supplement(self, reference: str) -> bool:
        url, _, version = reference.partition("|")
        for s in self.supplements:
            if s.get("url") == url and (not version or s.get("version") == version):
                return True
        return False

    def property_codes_for(self, uri: str, *fallback: str) -> set[str]:  # kept per question (read only)
        memo, key = self.__dict__.setdefault("_pcodes", {}), (uri, fallback)
        if key not in memo:
            memo[key] = {c for c, d in self.property_defs.items() if d.get("uri") == uri}.union(fallback)
        return memo[key]

    def used_property_codes(self) -> set[str]:
        """Property codes some concept states (declared in `property` or not)."""
        if self._used_properties is None:
            self._used_properties = {str(p.get("code")) for c in self for p in c.properties}
        return self._used_properties

    def property_values(self, concept: Concept, code: str) -> list[Any]:
        return [primitive(p) for p in concept.properties if p.get("code") == code]

    def descendants(self, code: str) -> list[str]:
        """Every code below `code` (not itself), depth first, each once."""
        out: list[str] = []
        seen = {code}
        stack = list(reversed(self.concepts[code].children)) if code in self.concepts else []
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            out.append(current)
            stack.extend(reversed(self.concepts[current].children))
        return out

    def ancestors(self, code: str) -> set[str]:
        out: set[str] = set()
        stack = list(self.concepts[code].parents) if code in self.concepts else []
        while stack:
            current = stack.pop()
            if current not in out:
                out.add(current)
                stack.extend(self.concepts[current].parents)
        return out

    def subsumes(self, ancestor: str, descendant: str) -> bool:
        return ancestor in self.ancestors(descendant)

    # -- concept status ----------------------------------------------------------------------
    def is_abstract(self, concept: Concept) -> bool:
        codes = self.property_codes_for(CP + "notSelectable", "notSelectable", "not-selectable", "abstract")
        for prop in concept.properties:
            if prop.get("code") in codes and prop.get("valueBoolean") is True:
                return True
        return False

    def is_inactive(self, concept: Concept) -> bool:
        inactive_codes = self.property_codes_for(CP + "inactive", "inactive")
        status_codes = self.property_codes_for(CP + "status", "status")
        for prop in concept.properties:
            code = prop.get("code")
            if code in inactive_codes and (
                prop.get("valueBoolean") is True or prop.get("valueCode") == "true"
            ):
                return True
            if code in status_codes and primitive(prop) in ("inactive", "retired"):
                return True
        return str(concept.extension(EXT_STANDARDS_STATUS) or "").lower() == "withdrawn"

    def status(self, concept: Concept) -> str | None:
        """The concept's status word (retired, deprecated, inactive, ...), or None when plain active."""
        status_codes = self.property_codes_for(CP + "status", "status")
        for prop in concept.properties:
            if prop.get("code") in status_codes:
                value = primitive(prop)
                return str(value) if value is not None else None
        for prop in concept.properties:
            code, value = prop.get("code"), primitive(prop)
            if code in ("deprecated", "inactive", "retired") and (value is True or value == "true"):
                return code
        ext = concept.extension(EXT_STANDARDS_STATUS)
        return str(ext) if ext else None

    def is_deprecated(self, concept: Concept) -> bool:
        return (self.status(concept) or "").lower() == "deprecated"

    # -- text search ---------------------------------------------------------------------------
    def text_index(self) -> TextIndex[Concept]:
        if self._text_index is None:
            self._text_index = TextIndex.build(self)
        return self._text_index


def designation_from(raw: dict[str, Any], source: str | None) -> Designation:
    extensions = [e for e in raw.get("extension") or [] if isinstance(e, dict)]
    status = "active"
    for ext in extensions:
        if ext.get("url") == EXT_STANDARDS_STATUS and primitive(ext):
            status = str(primitive(ext))
    use = raw.get("use") if isinstance(raw.get("use"), dict) else None
    return Designation(
        raw["value"].strip(), raw.get("language"), use, status=status, extensions=extensions, source=source
    )


def _walk(items: list[Any]) -> Iterator[dict[str, Any]]:
    for raw in items:
        if isinstance(raw, dict) and isinstance(raw.get("code"), str):
            yield raw
            yield from _walk(raw.get("concept") or [])


def is_lang_pack(supplement: dict[str, Any]) -> bool:
    return any(
        ext.get("url") == EXT_SUPPLEMENT_TYPE and primitive(ext) == "lang-pack"
        for ext in supplement.get("extension") or []
        if isinstance(ext, dict)
    )
