"""R4 <-> R5 shapes where the terminology resources differ.

The engine works in R5 shapes. At `/fhir` (R4 4.0.1) results are converted on the way out:
`expansion.property` / `contains.property` become the R5 cross-version extensions, and
ConceptMap `$translate` matches carry `equivalence` instead of `relationship` (the map stays
`originMap`, see translate_result_to_r4). ConceptMaps may be
loaded in either shape; `conceptmap_to_r5` normalises one for the translate engine.
"""

from __future__ import annotations

import copy
from typing import Any

XV = "http://hl7.org/fhir/5.0/StructureDefinition/extension-"
EXT_EXPANSION_PROPERTY = XV + "ValueSet.expansion.property"
EXT_CONTAINS_PROPERTY = XV + "ValueSet.expansion.contains.property"

# R5 ConceptMap relationship <-> R4 equivalence, the one table of the product and its tx test runner
# (tools/txtests). As the FHIR cross-version maps give it: StructureMap ConceptMap5to4 / ConceptMap4to5 of
# the FHIR extensions pack (http://hl7.org/fhir/StructureMap/ConceptMap5to4): not-related-to -> unmatched.
RELATIONSHIP_TO_EQUIVALENCE = {
    "related-to": "relatedto",
    "equivalent": "equivalent",
    "source-is-narrower-than-target": "wider",
    "source-is-broader-than-target": "narrower",
    "not-related-to": "unmatched",
}
EQUIVALENCE_TO_RELATIONSHIP = {
    "relatedto": "related-to",
    "equivalent": "equivalent",
    "equal": "equivalent",
    "wider": "source-is-narrower-than-target",
    "subsumes": "source-is-narrower-than-target",
    "narrower": "source-is-broader-than-target",
    "specializes": "source-is-broader-than-target",
    "inexact": "related-to",
    "unmatched": "not-related-to",
    "disjoint": "not-related-to",
}


def value_set_to_r4(value_set: dict[str, Any]) -> dict[str, Any]:
    expansion = value_set.get("expansion")
    if not isinstance(expansion, dict) or not (
        "property" in expansion or any("property" in c for c in _walk(expansion.get("contains", [])))
    ):
        return value_set
    out = dict(value_set)
    expansion = copy.deepcopy(expansion)
    for prop in expansion.pop("property", []):
        sub = [{"url": "code", "valueCode": prop.get("code")}]
        if prop.get("uri"):
            sub.append({"url": "uri", "valueUri": prop["uri"]})
        expansion.setdefault("extension", []).append({"url": EXT_EXPANSION_PROPERTY, "extension": sub})
    for item in _walk(expansion.get("contains", [])):
        for prop in item.pop("property", []):
            sub = [{"url": "code", "valueCode": prop.get("code")}]
            for key, value in prop.items():
                if key.startswith("value"):
                    sub.append({"url": "value", key: value})
            item.setdefault("extension", []).append({"url": EXT_CONTAINS_PROPERTY, "extension": sub})
    out["expansion"] = expansion
    return out


def _walk(items: list[Any]):  # type: ignore[no-untyped-def]
    for item in items:
        if isinstance(item, dict):
            yield item
            yield from _walk(item.get("contains", []))


def translate_result_to_r4(parameters: dict[str, Any]) -> dict[str, Any]:
    """R4 names in each match: equivalence, product/dependsOn as element + concept. The map keeps
    its R5 part name `originMap`: the HL7 terminology ecosystem tests expect it from R4 servers too
    (their runner converts resources between versions, never parameter names), and an R4 `source`
    part would clash with the source Coding of a reverse match."""
    out = copy.deepcopy(parameters)
    for param in out.get("parameter", []):
        if param.get("name") != "match":
            continue
        for part in param.get("part", []):
            name = part.get("name")
            if name == "relationship":
                part["name"] = "equivalence"
                part["valueCode"] = RELATIONSHIP_TO_EQUIVALENCE.get(part.get("valueCode"), "relatedto")
            elif name in ("product", "dependsOn"):
                part["part"] = [_dependency_part_to_r4(p) for p in part.get("part", [])]
    return out


def _dependency_part_to_r4(part: dict[str, Any]) -> dict[str, Any]:
    if part.get("name") == "attribute":
        return {"name": "element", "valueUri": part.get("valueUri")}
    if part.get("name") == "value":
        if "valueCoding" in part:
            return {"name": "concept", "valueCoding": part["valueCoding"]}
        value = next((v for k, v in part.items() if k.startswith("value")), None)
        return {"name": "concept", "valueCoding": {"code": str(value)}}
    return part


def conceptmap_to_r5(concept_map: dict[str, Any]) -> dict[str, Any]:
    """A ConceptMap in R5 shape (R4 input: equivalence, source/target[x], dependsOn.property)."""
    out = dict(concept_map)
    for r4, r5 in (
        ("sourceUri", "sourceScopeUri"),
        ("sourceCanonical", "sourceScopeCanonical"),
        ("targetUri", "targetScopeUri"),
        ("targetCanonical", "targetScopeCanonical"),
    ):
        if r4 in out and r5 not in out:
            out[r5] = out.pop(r4)
    groups = []
    for group in concept_map.get("group") or []:
        if not isinstance(group, dict):
            continue
        group = dict(group)
        elements = []
        for element in group.get("element") or []:
            if not isinstance(element, dict):
                continue
            element = dict(element)
            targets = []
            for target in element.get("target") or []:
                if not isinstance(target, dict):
                    continue
                target = dict(target)
                if "equivalence" in target and "relationship" not in target:
                    equivalence = target.pop("equivalence")
                    target["relationship"] = EQUIVALENCE_TO_RELATIONSHIP.get(equivalence, "related-to")
                    target["_equivalence"] = equivalence
                for key in ("dependsOn", "product"):
                    if key in target:
                        target[key] = [_dependency_to_r5(d) for d in target[key] if isinstance(d, dict)]
                targets.append(target)
            element["target"] = targets
            elements.append(element)
        group["element"] = elements
        groups.append(group)
    out["group"] = groups
    return out


def _dependency_to_r5(dependency: dict[str, Any]) -> dict[str, Any]:
    if "attribute" in dependency or "property" not in dependency:
        return dependency
    out = {k: v for k, v in dependency.items() if k not in ("property", "system", "value", "display")}
    out["attribute"] = dependency["property"]
    if "system" in dependency:
        coding = {"system": dependency["system"], "code": dependency.get("value")}
        if dependency.get("display"):
            coding["display"] = dependency["display"]
        out["valueCoding"] = coding
    elif "value" in dependency:
        out["valueString"] = dependency["value"]
    return out
