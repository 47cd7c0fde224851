"""What an expansion says: its `contains` items, the properties and parameters it declares, and the
final `expansion` element (paging, hierarchy, used-* parameters, echoed request parameters).

Concept extensions that carry meaning (label, order, itemWeight, standards status) become R5
concept properties, as the reference servers report them; rendering extensions are copied.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, overload

from plugin.terminology.expand.paging import Paging
from plugin.terminology.model import designations as ds
from plugin.terminology.model.codesystem import (
    CP,
    EXTENSION_PROPERTIES,
    PREFERRED_FOR_LANGUAGE,
    CodeSystemView,
    Concept,
    Designation,
    primitive,
)
from plugin.terminology.model.context import TxOptions
from plugin.terminology.model.resources import EXT_STANDARDS_STATUS, include_designations

EXT_VS_LABEL = "http://hl7.org/fhir/StructureDefinition/valueset-label"
EXT_VS_ORDER = "http://hl7.org/fhir/StructureDefinition/valueset-conceptOrder"
EXT_ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
EXT_UNCLOSED = "http://hl7.org/fhir/StructureDefinition/valueset-unclosed"
EXT_UNCLOSED_REASON = "http://hl7.org/fhir/StructureDefinition/valueset-unclosed-reason"
CS_COPIED_EXTENSIONS = {
    "http://hl7.org/fhir/StructureDefinition/coding-sctdescid",
    "http://hl7.org/fhir/StructureDefinition/rendering-style",
    "http://hl7.org/fhir/StructureDefinition/rendering-xhtml",
    "http://hl7.org/fhir/StructureDefinition/codesystem-alternate",
}
VS_COPIED_EXTENSIONS = {
    "http://hl7.org/fhir/StructureDefinition/valueset-supplement",
    "http://hl7.org/fhir/StructureDefinition/valueset-deprecated",
    "http://hl7.org/fhir/StructureDefinition/valueset-concept-definition",
    "http://hl7.org/fhir/StructureDefinition/coding-sctdescid",
    "http://hl7.org/fhir/StructureDefinition/rendering-style",
    "http://hl7.org/fhir/StructureDefinition/rendering-xhtml",
    EXT_STANDARDS_STATUS,
}
DESIGNATION_EXTENSIONS = {
    "http://hl7.org/fhir/StructureDefinition/coding-sctdescid",
    "http://hl7.org/fhir/StructureDefinition/rendering-style",
    "http://hl7.org/fhir/StructureDefinition/rendering-xhtml",
    "http://hl7.org/fhir/StructureDefinition/codesystem-alternate",
    EXT_STANDARDS_STATUS,
}
KEEP_WITHOUT_DEFINITION = (
    "resourceType",
    "id",
    "language",
    "url",
    "identifier",
    "version",
    "name",
    "title",
    "status",
    "experimental",
    "date",
    "publisher",
)
_VS_EXTENSION_FOR = {EXT_ITEM_WEIGHT: EXT_ITEM_WEIGHT}
_ECHOED_FLAGS = (
    ("excludeNested", "exclude_nested"),
    ("activeOnly", "active_only"),
    ("includeDesignations", "include_designations"),
    ("includeDefinition", "include_definition"),
    ("excludeNotForUI", "exclude_not_for_ui"),
    ("excludePostCoordinated", "exclude_post_coordinated"),
)


class Entry:
    """One code of the expansion while it is built. Its `contains` item is rendered only when the
    code is on the page returned, so paging through a large expansion stays cheap."""

    __slots__ = ("children", "concept", "item", "key", "ref", "value_set", "view", "with_version")

    def __init__(
        self,
        key: tuple[str, str, str],
        view: CodeSystemView | None = None,
        concept: Concept | None = None,
        ref: dict[str, Any] | None = None,
        value_set: dict[str, Any] | None = None,
        with_version: bool = False,
        item: dict[str, Any] | None = None,
    ) -> None:
        self.key = key
        self.view = view
        self.concept = concept
        self.ref = ref
        self.value_set = value_set
        self.with_version = with_version
        self.item = item
        self.children: list[Entry] = []

    def copy(self) -> Entry:
        """The same code taken into another expansion (without its nested codes)."""
        return Entry(
            self.key, self.view, self.concept, self.ref, self.value_set, self.with_version, self.item
        )


class Run(Sequence[Entry]):
    """Top-level codes of one code system, in order, whose Entries are made only when read."""

    def __init__(
        self,
        view: CodeSystemView,
        concepts: list[Concept],
        key_version: str,
        value_set: dict[str, Any],
        with_version: bool,
    ) -> None:
        self.view = view
        self.concepts = concepts
        self.key_version = key_version
        self.value_set = value_set
        self.with_version = with_version

    def __len__(self) -> int:
        return len(self.concepts)

    @overload
    def __getitem__(self, index: int) -> Entry: ...
    @overload
    def __getitem__(self, index: slice) -> list[Entry]: ...
    def __getitem__(self, index: int | slice) -> Entry | list[Entry]:
        if isinstance(index, slice):
            return [self._entry(concept) for concept in self.concepts[index]]
        return self._entry(self.concepts[index])

    def _entry(self, concept: Concept) -> Entry:
        key = (self.view.url, self.key_version, concept.code)
        return Entry(key, self.view, concept, None, self.value_set, self.with_version)


class ExpansionOutput:
    """Collects what the expansion declares while codes are added, then renders it."""

    def __init__(self, options: TxOptions) -> None:
        self.options = options
        self.params: list[dict[str, Any]] = []
        self.properties: list[dict[str, Any]] = []
        self.unclosed: list[str] = []
        # False when a text `filter` searched a whole code system: the expansion then states no
        # `total` (optional in FHIR), as the reference server does for a search.
        self.total_known = True

    def param(self, name: str, value_type: str, value: Any) -> None:
        if value in (None, ""):
            return
        for p in self.params:
            if p["name"] == name and primitive(p) == value:
                return
        self.params.append({"name": name, f"value{value_type}": value})

    def declare(self, code: str | None, uri: str | None) -> str:
        """Declare a property in expansion.property; returns the code to use for its values."""
        for existing in self.properties:
            if (uri and existing.get("uri") == uri) or existing.get("code") == code:
                if uri and not existing.get("uri"):
                    existing["uri"] = uri
                return str(existing["code"])
        declared: dict[str, Any] = {"code": code}
        if uri:
            declared["uri"] = uri
        self.properties.append(declared)
        return code or ""

    # -- one concept -------------------------------------------------------------------------------
    def item(
        self,
        view: CodeSystemView,
        concept: Concept,
        ref: dict[str, Any] | None,
        value_set: dict[str, Any],
        *,
        with_version: bool,
    ) -> dict[str, Any]:
        item: dict[str, Any] = {}
        extensions = [e for e in concept.extensions if e.get("url") in CS_COPIED_EXTENSIONS]
        ref_extensions = [e for e in (ref or {}).get("extension") or [] if isinstance(e, dict)]
        extensions += [e for e in ref_extensions if e.get("url") in VS_COPIED_EXTENSIONS]
        if extensions:
            item["extension"] = extensions
        item["system"] = view.url
        if with_version and view.version:
            item["version"] = view.version
        item["code"] = concept.code
        if view.is_abstract(concept):
            item["abstract"] = True
        if view.is_inactive(concept):
            item["inactive"] = True
        designations = list(concept.designations)
        if ref:
            designations += include_designations(ref, value_set)
        chosen = ds.preferred(designations, self.options.working_languages())
        if chosen is not None:
            item["display"] = chosen.value
            if chosen.source:
                self.param("used-supplement", "Uri", chosen.source)
        if self.options.include_designations:
            rendered = self._designations(designations, chosen)
            if rendered:
                item["designation"] = rendered
        for supplement in view.supplement_canonicals():
            self.param("used-supplement", "Uri", supplement)
        properties = self._properties(view, concept, ref)
        if properties:
            item["property"] = properties
        return item

    def _designations(
        self, designations: list[Designation], chosen: Designation | None
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for d in designations:
            if d is chosen or not self._wanted(d):
                continue
            rendered = d.to_fhir()
            kept = [e for e in d.extensions if e.get("url") in DESIGNATION_EXTENSIONS]
            if kept:
                rendered["extension"] = kept
            else:
                rendered.pop("extension", None)
            if d.is_display:
                rendered["use"] = dict(PREFERRED_FOR_LANGUAGE)
            if d.source:
                self.param("used-supplement", "Uri", d.source)
            if rendered not in out:
                out.append(rendered)
        return out

    def _wanted(self, d: Designation) -> bool:
        """The `designation` parameter: `system|code` of a use, or `urn:ietf:bcp:47|language`."""
        if not self.options.designations:
            return True
        for wanted in self.options.designations:
            system, _, code = wanted.partition("|")
            if d.use and d.use.get("system") == system and d.use.get("code") == code:
                return True
            if system == "urn:ietf:bcp:47" and d.language == code:
                return True
        return False

    def _properties(
        self, view: CodeSystemView, concept: Concept, ref: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        props: list[dict[str, Any]] = []

        def put(code: str, uri: str | None, value_key: str, value: Any, repeat: bool = False) -> None:
            if value is None:
                return
            code = self.declare(code, uri)
            for existing in props:
                if existing["code"] == code and (not repeat or existing.get(value_key) == value):
                    existing.clear()
                    existing.update({"code": code, value_key: value})
                    return
            props.append({"code": code, value_key: value})

        status = view.status(concept)
        if status and status.lower() != "active":
            put("status", CP + "status", "valueCode", status)
        ref_extensions = {e.get("url"): e for e in (ref or {}).get("extension") or [] if isinstance(e, dict)}
        for url, (code, uri) in EXTENSION_PROPERTIES.items():
            value = concept.extension(url)
            vs_url = _VS_EXTENSION_FOR.get(url) or (EXT_VS_LABEL if code == "label" else EXT_VS_ORDER)
            if vs_url in ref_extensions:
                value = primitive(ref_extensions[vs_url])
            put(code, uri, "valueString" if code == "label" else "valueDecimal", value)
        for name in self.options.properties:
            if name == "definition":
                if concept.definition:
                    put("definition", CP + "definition", "valueString", concept.definition)
                continue
            for prop in concept.properties:
                if name != "*" and prop.get("code") != name:
                    continue
                value = next(((k, v) for k, v in prop.items() if k.startswith("value") and len(k) > 5), None)
                if value is not None:
                    uri = view.property_defs.get(prop.get("code", ""), {}).get("uri")
                    put(prop["code"], uri, value[0], value[1], repeat=True)
        return props

    # -- the expansion element ---------------------------------------------------------------------
    def render_item(self, entry: Entry) -> dict[str, Any]:
        if entry.item is None:
            assert entry.view is not None and entry.concept is not None
            entry.item = self.item(
                entry.view, entry.concept, entry.ref, entry.value_set or {}, with_version=entry.with_version
            )
        return entry.item

    def render(
        self,
        value_set: dict[str, Any],
        ordered: Sequence[Entry],
        roots: Sequence[Entry],
        hierarchical: bool,
        used_rules: list[Any],
        paging: Paging,
    ) -> dict[str, Any]:
        options = self.options
        if options.include_definition:
            result = {k: v for k, v in value_set.items() if k not in ("expansion", "text")}
        else:
            result = {k: value_set[k] for k in KEEP_WITHOUT_DEFINITION if k in value_set}
        total = len(ordered)
        if hierarchical and paging.nests(total):
            listing = paging.skip([self._nest(e) for e in roots])
        else:
            listing = [self.render_item(e) for e in paging.page(ordered)]
        params = self._echo() + paging.echo() + self.params
        params += [{"name": rule.param_name, "valueUri": rule.value} for rule in used_rules]
        expansion: dict[str, Any] = {
            "identifier": f"urn:uuid:{uuid.uuid4()}",
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        }
        if self.total_known:
            expansion["total"] = total
        if paging.offset > -1:
            expansion["offset"] = paging.offset
        unique: list[dict[str, Any]] = []
        for p in params:
            if p not in unique:
                unique.append(p)
        if unique:
            expansion["parameter"] = unique
        if self.properties and any(_uses_properties(i) for i in listing):
            expansion["property"] = self.properties
        if listing:
            expansion["contains"] = listing
        if self.unclosed:
            expansion["extension"] = [{"url": EXT_UNCLOSED, "valueBoolean": True}] + [
                {"url": EXT_UNCLOSED_REASON, "valueString": reason} for reason in self.unclosed
            ]
        result["expansion"] = expansion
        return result

    def _nest(self, entry: Entry) -> dict[str, Any]:
        item = self.render_item(entry)
        if not entry.children:
            return item
        return {**item, "contains": [self._nest(c) for c in entry.children]}

    def _echo(self) -> list[dict[str, Any]]:
        """The request parameters that shaped the expansion, as the spec asks to echo them."""
        o = self.options
        out: list[dict[str, Any]] = []
        if o.filter:
            out.append({"name": "filter", "valueString": o.filter})
        langs = o.display_languages or o.http_languages
        if langs:
            out.append({"name": "displayLanguage", "valueCode": language_parameter(langs)})
        out.extend({"name": "designation", "valueString": d} for d in o.designations)
        out.extend(
            {"name": name, "valueBoolean": getattr(o, attr)} for name, attr in _ECHOED_FLAGS if o.has(name)
        )
        return out


def language_parameter(langs: Any) -> str:
    """A language preference list as a displayLanguage value (qualities kept when they matter)."""
    if any(lang.quality < 1 for lang in langs):
        return ", ".join(
            lang.code if lang.quality >= 1 else f"{lang.code}; q={lang.quality:g}" for lang in langs
        )
    return langs.source or ",".join(lang.code for lang in langs)


def _uses_properties(item: dict[str, Any]) -> bool:
    return "property" in item or any(_uses_properties(c) for c in item.get("contains", []))
