"""What the pages read of the FHIR content in the terminology registry: CPT and HCPCS concepts, the
age-band and modifier-applicability maps, the procedure axes, the documentation elements.

Pure readers over the registry's resources (plain FHIR JSON); nothing here is written for a page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from plugin.cds_hooks.fhir import CPT, as_dict, as_list, as_str
from plugin.terminology.model.registry import Registry

BASE = "https://fhir.cpt-plugin.org"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
FAMILY_VALUE_SET = f"{BASE}/ValueSet/ecmo-ecls-family"
AGE_BAND_SYSTEM = f"{BASE}/CodeSystem/ecmo-age-band"
AGE_BAND_MAP = f"{BASE}/ConceptMap/ecmo-age-band"
AXIS_SYSTEM = f"{BASE}/CodeSystem/ecmo-procedure-axis"
APPLICABILITY_SYSTEM = f"{BASE}/CodeSystem/modifier-applicability"
BASE_CODE_PROPERTY = f"{APPLICABILITY_SYSTEM}#base-code"
DOCUMENTATION_SYSTEM = f"{BASE}/CodeSystem/ecmo-documentation-element"
NOTE_QUESTIONNAIRE = f"{BASE}/Questionnaire/ecmo-cannulation-note"
FACILITY_POS_VALUE_SET = f"{BASE}/ValueSet/facility-place-of-service"
MODIFIER_LEVELS = {CPT: "CPT (AMA)", HCPCS: "HCPCS Level II (CMS)"}


def walk(concepts: Any) -> Iterator[dict[str, Any]]:
    for concept in as_list(concepts):
        if isinstance(concept, dict):
            yield concept
            yield from walk(concept.get("concept"))


def prop(concept: dict[str, Any], code: str) -> Any:
    """The value of a concept property (the first value[x] it carries), or None."""
    for item in as_list(concept.get("property")):
        item = as_dict(item)
        if item.get("code") == code:
            for key, value in item.items():
                if key.startswith("value"):
                    return value
    return None


@dataclass(frozen=True)
class Concept:
    system: str
    version: str | None
    code: str
    display: str | None
    definition: str | None
    data: dict[str, Any]
    resource: dict[str, Any]

    def prop(self, code: str) -> Any:
        return prop(self.data, code)

    @property
    def source(self) -> str | None:
        return as_str(self.prop("source"))

    @property
    def as_of(self) -> str | None:
        return as_str(self.prop("as-of"))


def concept(registry: Registry, system: str, code: str) -> Concept | None:
    """The concept in the newest version that has it, preferring versions that carry our sourced
    wording (a `source` property): a licensed release loaded beside the fragment does not replace
    the plain-language text the pages publish."""
    found = [
        Concept(
            system,
            as_str(resource.get("version")),
            code,
            as_str(data.get("display")),
            as_str(data.get("definition")),
            data,
            resource,
        )
        for resource in registry.versions(system)
        for data in walk(resource.get("concept"))
        if data.get("code") == code
    ]
    if not found:
        return None
    sourced = [c for c in found if c.source]
    return (sourced or found)[-1]


def value_set_codes(registry: Registry, url: str) -> list[tuple[str, str]]:
    """(system, code) in the order the ValueSet's compose lists them (our value sets enumerate codes)."""
    value_set = registry.get(url) or {}
    return [
        (str(include.get("system")), str(item["code"]))
        for include in as_list(as_dict(value_set.get("compose")).get("include"))
        for item in as_list(as_dict(include).get("concept"))
        if as_str(as_dict(item).get("code"))
    ]


@dataclass(frozen=True)
class MapTarget:
    """One target of a ConceptMap element, with the source code and system it maps from."""

    source_system: str
    source_code: str
    code: str
    equivalence: str | None
    comment: str | None
    depends_on: dict[str, str]  # property -> value


def map_targets(registry: Registry, url: str) -> list[MapTarget]:
    concept_map = registry.get(url) or {}
    targets: list[MapTarget] = []
    for group in as_list(concept_map.get("group")):
        group = as_dict(group)
        for element in as_list(group.get("element")):
            element = as_dict(element)
            for target in as_list(element.get("target")):
                target = as_dict(target)
                depends = {
                    str(as_dict(d).get("property")): str(as_dict(d).get("value"))
                    for d in as_list(target.get("dependsOn"))
                }
                targets.append(
                    MapTarget(
                        str(group.get("source")),
                        str(element.get("code")),
                        str(target.get("code")),
                        as_str(target.get("equivalence")),
                        as_str(target.get("comment")),
                        depends,
                    )
                )
    return targets


def applicability_maps(registry: Registry) -> list[dict[str, Any]]:
    """Every ConceptMap whose targets are modifier-applicability categories (one per base code)."""
    return [
        resource
        for resource in registry.every("ConceptMap")
        if any(as_dict(g).get("target") == APPLICABILITY_SYSTEM for g in as_list(resource.get("group")))
    ]


def modifier_rows(registry: Registry, base_code: str) -> list[MapTarget]:
    """How each modifier applies to the base code: the applicability map targets whose dependsOn
    names it, in map order."""
    rows: list[MapTarget] = []
    for concept_map in applicability_maps(registry):
        rows += [
            t
            for t in map_targets(registry, str(concept_map.get("url")))
            if t.depends_on.get(BASE_CODE_PROPERTY) == base_code
        ]
    return rows


def applicability_map_url(registry: Registry, base_code: str) -> str | None:
    for concept_map in applicability_maps(registry):
        if any(
            t.depends_on.get(BASE_CODE_PROPERTY) == base_code
            for t in map_targets(registry, str(concept_map.get("url")))
        ):
            return str(concept_map.get("url"))
    return None
