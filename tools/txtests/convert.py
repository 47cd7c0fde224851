"""The R5 <-> R4 conversions an R4 terminology server needs (VersionConvertor_40_50, the parts the
test files exercise).

Requests go R5 -> R4: ConceptMap scope/relationship/dependsOn/unmapped, and R5-only canonical
metadata as cross-version extensions. Responses come back R4 -> R5: the expansion and contains
property cross-version extensions become `expansion.property` / `contains.property`. Parameter
names are not translated, as in the official runner, and Parameters keep their R5 shape.
"""

from __future__ import annotations

import copy
from typing import Any

# The product's cross-version names and relationship table, so runner and server convert alike.
from plugin.terminology.convert import EXT_CONTAINS_PROPERTY as CONTAINS_PROPERTY
from plugin.terminology.convert import EXT_EXPANSION_PROPERTY as EXPANSION_PROPERTY
from plugin.terminology.convert import RELATIONSHIP_TO_EQUIVALENCE
from plugin.terminology.convert import XV as XVER

Json = Any

UNMAPPED_MODE_R4 = {"use-source-code": "provided", "fixed": "fixed", "other-map": "other-map"}


def _value_key(element: dict) -> str | None:
    for key in element:
        if key.startswith("value") and len(key) > 5 and key[5].isupper():
            return key
    return None


def _to_extension(resource: dict, element: str) -> None:
    """Move an R5-only element into its cross-version extension."""
    for key in [
        k for k in resource if k == element or (k.startswith(element) and k[len(element) :][:1].isupper())
    ]:
        suffix = key[len(element) :] or "String"
        resource.setdefault("extension", []).append(
            {"url": f"{XVER}{resource['resourceType']}.{element}", f"value{suffix}": resource.pop(key)}
        )


def _depends_on_r4(item: dict) -> dict:
    out: dict[str, Any] = {}
    if "attribute" in item:
        out["property"] = item["attribute"]
    key = _value_key(item)
    if key:
        value = item[key]
        if isinstance(value, dict):  # valueCoding
            if "system" in value:
                out["system"] = value["system"]
            out["value"] = value.get("code", "")
            if "display" in value:
                out["display"] = value["display"]
        else:
            out["value"] = value if isinstance(value, str) else str(value).lower()
    return out


def concept_map_r5_to_r4(cm: dict) -> dict:
    cm = copy.deepcopy(cm)
    for r5, r4 in (("sourceScope", "source"), ("targetScope", "target")):
        for suffix in ("Uri", "Canonical"):
            if r5 + suffix in cm:
                cm[r4 + suffix] = cm.pop(r5 + suffix)
    if isinstance(cm.get("identifier"), list):
        ids = cm.pop("identifier")
        if ids:
            cm["identifier"] = ids[0]
    cm.pop("property", None)
    cm.pop("additionalAttribute", None)
    for group in cm.get("group", []):
        for element in group.get("element", []):
            if element.pop("noMap", False):
                element.setdefault("target", []).append({"equivalence": "unmatched"})
            for target in element.get("target", []):
                relationship = target.pop("relationship", None)
                if relationship and "equivalence" not in target:
                    target["equivalence"] = RELATIONSHIP_TO_EQUIVALENCE.get(relationship, "relatedto")
                for key in ("dependsOn", "product"):
                    if key in target:
                        target[key] = [_depends_on_r4(d) for d in target[key]]
                target.pop("property", None)
        unmapped = group.get("unmapped")
        if isinstance(unmapped, dict):
            unmapped.pop("relationship", None)
            unmapped.pop("valueSet", None)
            if "mode" in unmapped:
                unmapped["mode"] = UNMAPPED_MODE_R4.get(unmapped["mode"], unmapped["mode"])
            if "otherMap" in unmapped:
                unmapped["url"] = unmapped.pop("otherMap")
    for element in ("versionAlgorithm", "copyrightLabel"):
        _to_extension(cm, element)
    return cm


def resource_r5_to_r4(resource: Json) -> Json:
    if not isinstance(resource, dict):
        return resource
    kind = resource.get("resourceType")
    if kind == "ConceptMap":
        return concept_map_r5_to_r4(resource)
    if kind in ("CodeSystem", "ValueSet"):
        resource = copy.deepcopy(resource)
        for element in ("versionAlgorithm", "copyrightLabel"):
            _to_extension(resource, element)
        if kind == "ValueSet":
            resource.pop("scope", None)
        return resource
    if kind == "Parameters":
        return parameters_r5_to_r4(resource)
    if kind == "Bundle":
        resource = copy.deepcopy(resource)
        for entry in resource.get("entry", []):
            if isinstance(entry, dict) and "resource" in entry:
                entry["resource"] = resource_r5_to_r4(entry["resource"])
        return resource
    return resource


def parameters_r5_to_r4(params: dict) -> dict:
    out = dict(params)
    out["parameter"] = [_param_r5_to_r4(p) for p in params.get("parameter", [])]
    return out


def _param_r5_to_r4(param: Json) -> Json:
    if not isinstance(param, dict):
        return param
    out = dict(param)
    if "resource" in out:
        out["resource"] = resource_r5_to_r4(out["resource"])
    if "part" in out:
        out["part"] = [_param_r5_to_r4(p) for p in out["part"]]
    return out


# -- responses R4 -> R5 ------------------------------------------------------------------------


def _sub_extensions(ext: dict) -> list[dict]:
    return [e for e in ext.get("extension", []) if isinstance(e, dict)]


def _pull(node: dict, url: str) -> list[dict]:
    extensions = node.get("extension")
    if not isinstance(extensions, list):
        return []
    pulled = [e for e in extensions if isinstance(e, dict) and e.get("url") == url]
    if pulled:
        rest = [e for e in extensions if not (isinstance(e, dict) and e.get("url") == url)]
        if rest:
            node["extension"] = rest
        else:
            del node["extension"]
    return pulled


def _contains_r4_to_r5(item: dict) -> None:
    properties = []
    for ext in _pull(item, CONTAINS_PROPERTY):
        prop: dict[str, Any] = {}
        for sub in _sub_extensions(ext):
            key = _value_key(sub)
            if sub.get("url") == "code" and key:
                prop["code"] = sub[key]
            elif sub.get("url") == "value" and key:
                prop[key] = sub[key]
        properties.append(prop)
    if properties:
        item.setdefault("property", []).extend(properties)
    for child in item.get("contains", []):
        if isinstance(child, dict):
            _contains_r4_to_r5(child)


def value_set_r4_to_r5(vs: dict) -> dict:
    expansion = vs.get("expansion")
    if not isinstance(expansion, dict):
        return vs
    definitions = []
    for ext in _pull(expansion, EXPANSION_PROPERTY):
        definition: dict[str, Any] = {}
        for sub in _sub_extensions(ext):
            key = _value_key(sub)
            if sub.get("url") in ("code", "uri") and key:
                definition[sub["url"]] = sub[key]
        definitions.append(definition)
    if definitions:
        expansion.setdefault("property", []).extend(definitions)
    for item in expansion.get("contains", []):
        if isinstance(item, dict):
            _contains_r4_to_r5(item)
    return vs


def resource_r4_to_r5(resource: Json) -> Json:
    """Convert a response in place (it is a private copy) and return it."""
    if not isinstance(resource, dict):
        return resource
    kind = resource.get("resourceType")
    if kind == "ValueSet":
        return value_set_r4_to_r5(resource)
    if kind == "Parameters":
        for param in resource.get("parameter", []):
            if isinstance(param, dict) and "resource" in param:
                param["resource"] = resource_r4_to_r5(param["resource"])
    elif kind == "Bundle":
        for entry in resource.get("entry", []):
            if isinstance(entry, dict) and "resource" in entry:
                entry["resource"] = resource_r4_to_r5(entry["resource"])
    return resource
