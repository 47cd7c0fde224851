"""ConceptMap/$translate - http://hl7.org/fhir/R5/conceptmap-operation-translate.html

Supported input (R5 names, with the R4 names accepted too): url, conceptMapVersion, conceptMap
(resource), id (instance level), sourceCode + sourceSystem (+ version) / code + system,
sourceCoding / coding, sourceCodeableConcept / codeableConcept, targetCode / targetCoding /
targetCodeableConcept (reverse translation), sourceScope / source, targetScope / target,
targetSystem, dependency (attribute + value parts), tx-resource. ConceptMaps may be R4 or R5 shaped.
Output (R5): result, message, match (relationship, concept, dependsOn/product, originMap, source);
the R4 endpoint reports `equivalence` instead of `relationship`.
"""

from __future__ import annotations

from typing import Any

from plugin.terminology.convert import conceptmap_to_r5
from plugin.terminology.errors import bad_request, not_found
from plugin.terminology.model.context import TxContext
from plugin.terminology.model.parameters import ParametersBuilder, ParsedParameters, part
from plugin.terminology.model.resources import vurl


def _coding(params: ParsedParameters, *names: str) -> dict[str, Any] | None:
    for name in names:
        value = params.value(name)
        if isinstance(value, dict):
            if "coding" in value:
                codings = [c for c in value.get("coding") or [] if isinstance(c, dict)]
                return codings[0] if codings else None
            return value
    return None


def translate(ctx: TxContext, params: ParsedParameters, instance_id: str | None = None) -> dict[str, Any]:
    maps = _candidate_maps(ctx, params, instance_id)
    target_coding = _coding(params, "targetCoding", "targetCodeableConcept")
    target_code = params.string("targetCode") or (target_coding or {}).get("code")
    source = _coding(params, "sourceCoding", "coding", "sourceCodeableConcept", "codeableConcept") or {}
    code = params.string("sourceCode") or params.string("code") or source.get("code")
    system = params.string("sourceSystem") or params.string("system") or source.get("system")
    target_system = (
        params.string("targetSystem") or params.string("targetsystem") or (target_coding or {}).get("system")
    )
    if target_code:
        return _reverse(maps, target_code, target_system, system)
    if params.boolean("reverse") and code:  # R4: the code given is a target; find its sources
        return _reverse(maps, code, system, None)
    if not code:
        raise bad_request(
            "Give the code to translate: sourceCode + sourceSystem, sourceCoding or sourceCodeableConcept"
        )
    if not system:
        raise bad_request("The source code system is required (sourceSystem, or the coding's system)")
    return translate_code(ctx, maps, system, code, target_system, _dependencies(params))


def translate_code(
    ctx: TxContext,
    maps: list[dict[str, Any]],
    system: str,
    code: str,
    target_system: str | None,
    dependencies: list[tuple[str, Any]],
) -> dict[str, Any]:
    """$translate of `system#code` through the candidate ConceptMaps (R4 or R5 shaped), optionally only
    to `target_system` and where the given dependencies hold (R5 Parameters answer)."""
    out = ParametersBuilder()
    matches: list[list[dict[str, Any]]] = []
    for concept_map in maps:
        r5 = _r5(ctx, concept_map)
        for group in r5.get("group") or []:
            if group.get("source") and _base(group["source"]) != system:
                continue
            if target_system and group.get("target") and _base(group["target"]) != target_system:
                continue
            found = False
            for element in group.get("element") or []:
                if element.get("code") != code:
                    continue
                for target in element.get("target") or []:
                    if not _dependencies_hold(target, dependencies):
                        continue
                    found = True
                    matches.append(_match(group, target, concept_map))
                if element.get("noMap"):
                    found = True
            unmapped = group.get("unmapped")
            if not found and isinstance(unmapped, dict):
                matches.extend(_unmapped(group, unmapped, code, concept_map))
    success = any(
        p.get("name") == "relationship" and p.get("valueCode") != "not-related-to" for m in matches for p in m
    )
    out.add("result", "Boolean", success)
    if not success:
        shown = f"{system}#{code}"
        out.add(
            "message",
            "String",
            f"No mappings could be found for {shown}"
            if not matches
            else f"The mappings found for {shown} say it is not related to any target",
        )
    for match in matches:
        out.add_parts("match", match)
    return out.build()


def _candidate_maps(
    ctx: TxContext, params: ParsedParameters, instance_id: str | None
) -> list[dict[str, Any]]:
    if instance_id is not None:
        found = ctx.registry.by_id("ConceptMap", instance_id)
        if found is None:
            raise not_found(f"ConceptMap/{instance_id} is not known")
        return [found]
    inline = params.resource("conceptMap")
    if inline is not None:
        return [inline]
    url = params.string("url")
    if url:
        base, _, pinned = url.partition("|")
        version = params.string("conceptMapVersion") or pinned or None
        found = [
            m
            for m in ctx.registry.every("ConceptMap")
            if m.get("url") == base and (not version or m.get("version") == version)
        ]
        if not found:
            shown = f"{base}|{version}" if version else base
            raise not_found(f"ConceptMap {shown} is not known here")
        return found[:1]
    source_scope = params.string("sourceScope") or params.string("source")
    target_scope = params.string("targetScope") or params.string("target")
    out = []
    for concept_map in ctx.registry.every("ConceptMap"):
        r5 = _r5(ctx, concept_map)
        if source_scope and _scope(r5, "source") not in (None, source_scope):
            continue
        if target_scope and _scope(r5, "target") not in (None, target_scope):
            continue
        out.append(concept_map)
    return out


def _r5(ctx: TxContext, concept_map: dict[str, Any]) -> dict[str, Any]:
    return ctx.registry.cached(
        ("cm-r5", id(concept_map)), [concept_map], lambda: conceptmap_to_r5(concept_map)
    )


def _scope(concept_map: dict[str, Any], side: str) -> str | None:
    for key in (f"{side}ScopeUri", f"{side}ScopeCanonical"):
        if concept_map.get(key):
            return str(concept_map[key]).partition("|")[0]
    return None


def _base(canonical: str) -> str:
    return canonical.partition("|")[0]


def _match(
    group: dict[str, Any], target: dict[str, Any], concept_map: dict[str, Any]
) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    parts.append(part("relationship", "Code", target.get("relationship", "related-to")))
    if target.get("code"):
        coding: dict[str, Any] = {"system": _base(group.get("target", "")), "code": target["code"]}
        version = group.get("target", "").partition("|")[2]
        if version:
            coding["version"] = version
        if target.get("display"):
            coding["display"] = target["display"]
        parts.append(part("concept", "Coding", coding))
    parts.extend({"name": "dependsOn", "part": _dependency_parts(d)} for d in target.get("dependsOn") or [])
    parts.extend({"name": "product", "part": _dependency_parts(p)} for p in target.get("product") or [])
    if target.get("comment"):
        parts.append(part("message", "String", target["comment"]))
    parts.append(part("originMap", "Canonical", vurl(concept_map)))
    return parts


def _dependency_parts(dependency: dict[str, Any]) -> list[dict[str, Any]]:
    out = [part("attribute", "Uri", dependency.get("attribute"))]
    for key, value in dependency.items():
        if key.startswith("value"):
            out.append({"name": "value", key: value})
    return out


def _unmapped(
    group: dict[str, Any], unmapped: dict[str, Any], code: str, concept_map: dict[str, Any]
) -> list[list[dict[str, Any]]]:
    mode = unmapped.get("mode")
    relationship = unmapped.get("relationship", "related-to")
    if mode == "fixed" and unmapped.get("code"):
        target = {"code": unmapped["code"], "display": unmapped.get("display"), "relationship": relationship}
        return [_match(group, target, concept_map)]
    if mode in ("use-source-code", "provided"):
        return [_match(group, {"code": code, "relationship": relationship or "equivalent"}, concept_map)]
    return []


def _dependencies(params: ParsedParameters) -> list[tuple[str, Any]]:
    out = []
    for dependency in params.all("dependency"):
        parts = {p.get("name"): p for p in dependency.get("part") or [] if isinstance(p, dict)}
        attribute = (parts.get("attribute") or parts.get("element") or {}).get("valueUri") or (
            parts.get("attribute") or {}
        ).get("valueString")
        value = next((v for k, v in (parts.get("value") or {}).items() if k.startswith("value")), None)
        if attribute:
            out.append((attribute, value))
    return out


def _dependencies_hold(target: dict[str, Any], given: list[tuple[str, Any]]) -> bool:
    """A target whose dependsOn names an attribute the caller supplied must agree with it."""
    for dependency in target.get("dependsOn") or []:
        attribute = dependency.get("attribute")
        expected = next((v for k, v in dependency.items() if k.startswith("value")), None)
        for name, value in given:
            if name == attribute and not _same_value(expected, value):
                return False
    return True


def _same_value(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.get("code") == actual.get("code") and (
            not expected.get("system") or not actual.get("system") or expected["system"] == actual["system"]
        )
    if isinstance(expected, dict):
        return expected.get("code") == actual
    if isinstance(actual, dict):
        return actual.get("code") == expected
    return str(expected) == str(actual)


def _reverse(
    maps: list[dict[str, Any]], target_code: str, target_system: str | None, source_system: str | None
) -> dict[str, Any]:
    out = ParametersBuilder()
    matches = []
    for concept_map in maps:
        r5 = conceptmap_to_r5(concept_map)
        for group in r5.get("group") or []:
            if target_system and group.get("target") and _base(group["target"]) != target_system:
                continue
            if source_system and group.get("source") and _base(group["source"]) != source_system:
                continue
            for element in group.get("element") or []:
                for target in element.get("target") or []:
                    if target.get("code") != target_code:
                        continue
                    parts = [part("relationship", "Code", target.get("relationship", "related-to"))]
                    parts.append(
                        part(
                            "concept",
                            "Coding",
                            {"system": _base(group.get("target", "")), "code": target_code},
                        )
                    )
                    parts.append(
                        part(
                            "source",
                            "Coding",
                            {"system": _base(group.get("source", "")), "code": element.get("code")},
                        )
                    )
                    parts.append(part("originMap", "Canonical", vurl(concept_map)))
                    matches.append(parts)
    success = any(m[0].get("valueCode") != "not-related-to" for m in matches)
    out.add("result", "Boolean", success)
    if not success:
        out.add("message", "String", f"No mappings could be found to {target_system or ''}#{target_code}")
    for match in matches:
        out.add_parts("match", match)
    return out.build()
