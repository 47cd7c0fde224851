"""Cross-resource checks of CodeSystems, ValueSets, ConceptMaps and Questionnaires."""

from __future__ import annotations

from typing import Any

from plugin.content.index import Index, flatten, split_canonical
from plugin.content.problems import OUR_BASE, Located

VALUE_KEYS = {
    "code": "valueCode",
    "Coding": "valueCoding",
    "string": "valueString",
    "integer": "valueInteger",
    "boolean": "valueBoolean",
    "dateTime": "valueDateTime",
    "decimal": "valueDecimal",
}
VALUE_KEYS_ALL = set(VALUE_KEYS.values())
BUILTIN_FILTER_PROPERTIES = {"concept", "code", "display", "parent", "child", "inactive", "status"}
PUBLISHING_ELEMENTS = ("id", "url", "version", "name", "title", "status", "date", "publisher", "description")
CPT = "http://www.ama-assn.org/go/cpt"
CONTENT_TYPES = {"CodeSystem", "ValueSet", "ConceptMap", "Questionnaire", "NamingSystem"}


def ours(url: str) -> bool:
    return url.startswith(OUR_BASE)


def check_publishing(loc: Located) -> None:
    """Our own resources carry the metadata registries and readers need, and name third-party content."""
    if loc.resource_type not in CONTENT_TYPES or not loc.is_ours:
        return
    res = loc.resource
    for element in PUBLISHING_ELEMENTS:
        if not res.get(element):
            loc.error(loc.at(element), f"{element} is missing (every published resource carries it)")
    if res.get("experimental") is not False:
        loc.error(loc.at("experimental"), "experimental must be false for published content")
    if _mentions_system(res, CPT) and "American Medical Association" not in str(res.get("copyright") or ""):
        loc.error(loc.at("copyright"), "uses CPT but copyright lacks the AMA CPT statement")


def _mentions_system(res: dict[str, Any], system: str) -> bool:
    if res.get("url") == system:
        return True
    compose = res.get("compose") or {}
    includes = [*(compose.get("include") or []), *(compose.get("exclude") or [])]
    if any(isinstance(i, dict) and i.get("system") == system for i in includes):
        return True
    groups = res.get("group") or []
    return any(isinstance(g, dict) and system in (g.get("source"), g.get("target")) for g in groups)


def check_code_system(loc: Located, index: Index) -> None:
    res = loc.resource
    declared: dict[str, str] = {}
    for i, prop in enumerate(res.get("property") or []):
        if not isinstance(prop, dict):
            continue
        code = prop.get("code")
        if code in declared:
            loc.error(loc.at("property", i, "code"), f"property {code!r} is declared twice")
        declared[str(code)] = str(prop.get("type"))
    seen: dict[str, str] = {}
    count = 0
    for path, concept in flatten(res.get("concept")):
        count += 1
        code = concept.get("code")
        if code in seen:
            loc.error(loc.at(*path, "code"), f"code {code!r} is defined twice (first at {seen[code]})")
        else:
            seen[str(code)] = loc.at(*path)
        used = set()
        for j, prop in enumerate(concept.get("property") or []):
            if not isinstance(prop, dict):
                continue
            pcode = prop.get("code")
            used.add(pcode)
            where = loc.at(*path, "property", j)
            if pcode not in declared:
                loc.error(where, f"property {pcode!r} is not declared in CodeSystem.property")
                continue
            expected = VALUE_KEYS.get(declared[pcode])
            present = [k for k in prop if k in VALUE_KEYS_ALL]
            if expected and present and present != [expected]:
                loc.error(where, f"property {pcode!r} is declared as {declared[pcode]} but has {present[0]}")
        if loc.is_ours:
            for required in ("source", "as-of"):
                if required not in used and not (required == "as-of" and _undated(concept)):
                    loc.error(loc.at(*path), f"concept {code!r} has no {required!r} property")
    if res.get("content") == "complete" and isinstance(res.get("count"), int) and res["count"] != count:
        loc.error(loc.at("count"), f"count is {res['count']} but the CodeSystem defines {count} concepts")


def _undated(concept: dict[str, Any]) -> bool:
    """A concept whose sources the research did not date says so in its source ("date not given")
    instead of carrying an as-of date that belongs to another source."""
    for prop in concept.get("property") or []:
        if isinstance(prop, dict) and prop.get("code") == "source":
            return "date not given" in str(prop.get("valueString", ""))
    return False


def check_value_set(loc: Located, index: Index) -> None:
    compose = loc.resource.get("compose")
    if not isinstance(compose, dict):
        return
    for part in ("include", "exclude"):
        for i, include in enumerate(compose.get(part) or []):
            if isinstance(include, dict):
                _check_include(loc, index, include, ("compose", part, i))


def _check_include(loc: Located, index: Index, include: dict[str, Any], path: tuple[str | int, ...]) -> None:
    for k, canonical in enumerate(include.get("valueSet") or []):
        if isinstance(canonical, str) and not index.find(canonical, "ValueSet"):
            _unresolved(loc, loc.at(*path, "valueSet", k), canonical, "ValueSet")
    system = include.get("system")
    if not isinstance(system, str):
        return
    version = include.get("version") if isinstance(include.get("version"), str) else None
    if not index.find(system, "CodeSystem"):
        if ours(system):
            loc.error(loc.at(*path, "system"), f"{system} is not a CodeSystem in this content")
        return
    codes = index.code_system_codes(system, version)
    if codes is not None:
        for j, concept in enumerate(include.get("concept") or []):
            code = concept.get("code") if isinstance(concept, dict) else None
            if isinstance(code, str) and code not in codes:
                loc.error(loc.at(*path, "concept", j, "code"), f"{code!r} is not in {system}")
            elif isinstance(code, str) and concept.get("display") and codes[code].get("display"):
                shown = {codes[code]["display"]} | {
                    d.get("value") for d in codes[code].get("designation") or []
                }
                if concept["display"] not in shown:
                    loc.warn(
                        loc.at(*path, "concept", j, "display"),
                        f"display {concept['display']!r} differs from {system}'s {codes[code]['display']!r}",
                    )
    declared = index.declared_properties(system) or {}
    for j, flt in enumerate(include.get("filter") or []):
        prop = flt.get("property") if isinstance(flt, dict) else None
        if isinstance(prop, str) and prop not in declared and prop not in BUILTIN_FILTER_PROPERTIES:
            loc.error(
                loc.at(*path, "filter", j, "property"),
                f"filter property {prop!r} is not declared by {system}",
            )
        if isinstance(prop, str) and prop in declared and declared[prop].get("type") == "code":
            value = flt.get("value")
            if (
                codes is not None
                and flt.get("op") in {"is-a", "descendent-of", "is-not-a"}
                and value not in codes
            ):
                loc.error(loc.at(*path, "filter", j, "value"), f"{value!r} is not in {system}")


def _unresolved(loc: Located, path: str, canonical: str, kind: str) -> None:
    url, _version = split_canonical(canonical)
    if ours(url):
        loc.error(path, f"{canonical} does not resolve to a {kind} in this content")
    else:
        loc.warn(path, f"{canonical} is not in this content (external {kind}; not checked)")


def check_concept_map(loc: Located, index: Index) -> None:
    res = loc.resource
    for element in ("sourceCanonical", "targetCanonical"):
        canonical = res.get(element)
        if isinstance(canonical, str) and not index.find(canonical, "ValueSet"):
            _unresolved(loc, loc.at(element), canonical, "ValueSet")
    for g, group in enumerate(res.get("group") or []):
        if not isinstance(group, dict):
            continue
        source_codes = _group_system(loc, index, group, g, "source")
        target_codes = _group_system(loc, index, group, g, "target")
        for e, element in enumerate(group.get("element") or []):
            if not isinstance(element, dict):
                continue
            code = element.get("code")
            if source_codes is not None and isinstance(code, str) and code not in source_codes:
                loc.error(
                    loc.at("group", g, "element", e, "code"), f"{code!r} is not in {group.get('source')}"
                )
            for t, target in enumerate(element.get("target") or []):
                if not isinstance(target, dict):
                    continue
                where = ("group", g, "element", e, "target", t)
                tcode = target.get("code")
                if target_codes is not None and isinstance(tcode, str) and tcode not in target_codes:
                    loc.error(loc.at(*where, "code"), f"{tcode!r} is not in {group.get('target')}")
                for kind in ("dependsOn", "product"):
                    for d, dep in enumerate(target.get(kind) or []):
                        if isinstance(dep, dict):
                            _check_dependency(loc, index, dep, (*where, kind, d))


def _group_system(loc: Located, index: Index, group: dict, g: int, side: str) -> dict[str, dict] | None:
    system = group.get(side)
    if not isinstance(system, str):
        return None
    version = group.get(f"{side}Version") if isinstance(group.get(f"{side}Version"), str) else None
    if not index.find(system, "CodeSystem"):
        if ours(system):
            loc.error(loc.at("group", g, side), f"{system} is not a CodeSystem in this content")
        return None
    return index.code_system_codes(system, version)


def _check_dependency(loc: Located, index: Index, dep: dict[str, Any], path: tuple[str | int, ...]) -> None:
    prop = dep.get("property")
    if isinstance(prop, str) and ours(prop) and not index.resolves_property(prop):
        loc.error(
            loc.at(*path, "property"),
            f"{prop} is neither a declared CodeSystem.property uri nor a CodeSystem in this content",
        )
    system, value = dep.get("system"), dep.get("value")
    if not isinstance(system, str):
        return
    if not index.find(system, "CodeSystem"):
        if ours(system):
            loc.error(loc.at(*path, "system"), f"{system} is not a CodeSystem in this content")
        return
    codes = index.code_system_codes(system)
    if codes is not None and isinstance(value, str) and value not in codes:
        loc.error(loc.at(*path, "value"), f"{value!r} is not in {system}")


def check_questionnaire(loc: Located, index: Index) -> None:
    link_ids: dict[str, str] = {}
    items = list(_items(loc.resource.get("item"), ("item",)))
    for path, item in items:
        link_id = item.get("linkId")
        if isinstance(link_id, str):
            if link_id in link_ids:
                loc.error(
                    loc.at(*path, "linkId"),
                    f"linkId {link_id!r} is used twice (first at {link_ids[link_id]})",
                )
            link_ids.setdefault(link_id, loc.at(*path))
    for path, item in items:
        for c, coding in enumerate(item.get("code") or []):
            if isinstance(coding, dict):
                _check_coding(loc, index, coding, loc.at(*path, "code", c), strict=True)
        canonical = item.get("answerValueSet")
        if isinstance(canonical, str) and not index.find(canonical, "ValueSet"):
            _unresolved(loc, loc.at(*path, "answerValueSet"), canonical, "ValueSet")
        for w, when in enumerate(item.get("enableWhen") or []):
            question = when.get("question") if isinstance(when, dict) else None
            if isinstance(question, str) and question not in link_ids:
                loc.error(loc.at(*path, "enableWhen", w, "question"), f"no item has linkId {question!r}")


def _items(items: Any, path: tuple[str | int, ...]) -> Any:
    if not isinstance(items, list):
        return
    for i, item in enumerate(items):
        if isinstance(item, dict):
            yield (*path, i), item
            yield from _items(item.get("item"), (*path, i, "item"))


def _check_coding(loc: Located, index: Index, coding: dict[str, Any], where: str, strict: bool) -> None:
    """A Coding whose system we hold: the code must exist (an error for our own or complete systems; for a
    fragment of an external system only a warning, since the fragment is not the whole code system)."""
    system, code = coding.get("system"), coding.get("code")
    if not isinstance(system, str) or not isinstance(code, str):
        return
    if not index.find(system, "CodeSystem"):
        if ours(system) and strict:
            loc.error(where + ".system", f"{system} is not a CodeSystem in this content")
        return
    codes = index.code_system_codes(system)
    if codes is None or code in codes:
        return
    if ours(system) or "complete" in index.code_system_content(system):
        loc.error(where + ".code", f"{code!r} is not in {system}")
    else:
        loc.warn(where + ".code", f"{code!r} is not in the fragment of {system} held here")


def check_codings(loc: Located, index: Index) -> None:
    """Codings anywhere in a clinical resource (e.g. a synthetic ServiceRequest's CPT code)."""
    if loc.resource_type in CONTENT_TYPES or loc.resource_type == "Bundle":
        return
    for path, coding in _codings(loc.resource, ()):
        _check_coding(loc, index, coding, loc.at(*path), strict=False)


def _codings(node: Any, path: tuple[str | int, ...]) -> Any:
    if isinstance(node, dict):
        if isinstance(node.get("system"), str) and isinstance(node.get("code"), str):
            yield path, node
        for key, value in node.items():
            if key != "contained":
                yield from _codings(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _codings(value, (*path, i))
