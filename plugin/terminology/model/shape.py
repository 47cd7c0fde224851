"""JSON shape of the terminology resources the engine reads, checked once when a resource enters a
registry (loaded content, a request's `tx-resource`, an inline `valueSet`).

Only the elements the engine uses are described, with the JSON kind FHIR gives them (a string for
code/uri/string/dateTime, a boolean, an integer, an object, an array of ...). A resource that breaks
them is refused with the path of the first few problems, so malformed input is a 400 with a clear
message rather than an error deep inside an operation. Full profile validation is `cpt-plugin
validate`'s job, not the request path's.
"""

from __future__ import annotations

from typing import Any

STR, BOOL, INT, NUM, OBJ, ANY = "a string", "a boolean", "an integer", "a number", "an object", "anything"
Spec = Any  # a kind above, a nested schema (dict), or a one-item list [spec] for an array
MAX_PROBLEMS = 5

EXTENSION: dict[str, Spec] = {"url": STR}
EXTENSION["extension"] = [EXTENSION]
CODING: dict[str, Spec] = {
    "system": STR,
    "version": STR,
    "code": STR,
    "display": STR,
    "extension": [EXTENSION],
}
DESIGNATION: dict[str, Spec] = {
    "language": STR,
    "use": CODING,
    "additionalUse": [CODING],
    "value": STR,
    "extension": [EXTENSION],
}
CONCEPT_PROPERTY: dict[str, Spec] = {"code": STR, "extension": [EXTENSION]}
CONCEPT: dict[str, Spec] = {
    "code": STR,
    "display": STR,
    "definition": STR,
    "designation": [DESIGNATION],
    "property": [CONCEPT_PROPERTY],
    "extension": [EXTENSION],
}
CONCEPT["concept"] = [CONCEPT]
COMMON: dict[str, Spec] = {
    "id": STR,
    "url": STR,
    "version": STR,
    "name": STR,
    "title": STR,
    "status": STR,
    "language": STR,
    "experimental": BOOL,
    "date": STR,
    "publisher": STR,
    "extension": [EXTENSION],
    "modifierExtension": [EXTENSION],
}
CODE_SYSTEM: dict[str, Spec] = {
    **COMMON,
    "content": STR,
    "caseSensitive": BOOL,
    "supplements": STR,
    "valueSet": STR,
    "hierarchyMeaning": STR,
    "count": INT,
    "property": [{"code": STR, "uri": STR, "type": STR, "description": STR}],
    "filter": [{"code": STR, "operator": [STR], "value": STR}],
    "concept": [CONCEPT],
}
CONCEPT_SET: dict[str, Spec] = {
    "system": STR,
    "version": STR,
    "concept": [{"code": STR, "display": STR, "designation": [DESIGNATION], "extension": [EXTENSION]}],
    "filter": [{"property": STR, "op": STR, "value": STR}],
    "valueSet": [STR],
    "extension": [EXTENSION],
}
CONTAINS: dict[str, Spec] = {
    "system": STR,
    "version": STR,
    "code": STR,
    "display": STR,
    "abstract": BOOL,
    "inactive": BOOL,
    "designation": [DESIGNATION],
    "property": [{"code": STR}],
    "extension": [EXTENSION],
}
CONTAINS["contains"] = [CONTAINS]
VALUE_SET: dict[str, Spec] = {
    **COMMON,
    "compose": {
        "include": [CONCEPT_SET],
        "exclude": [CONCEPT_SET],
        "inactive": BOOL,
        "lockedDate": STR,
        "extension": [EXTENSION],
    },
    "expansion": {
        "total": INT,
        "offset": INT,
        "parameter": [{"name": STR}],
        "property": [{"code": STR, "uri": STR}],
        "contains": [CONTAINS],
        "extension": [EXTENSION],
    },
}
DEPENDENCY: dict[str, Spec] = {"property": STR, "attribute": STR, "system": STR, "display": STR}
CONCEPT_MAP: dict[str, Spec] = {
    **COMMON,
    "sourceUri": STR,
    "sourceCanonical": STR,
    "targetUri": STR,
    "targetCanonical": STR,
    "sourceScopeUri": STR,
    "sourceScopeCanonical": STR,
    "targetScopeUri": STR,
    "targetScopeCanonical": STR,
    "group": [
        {
            "source": STR,
            "target": STR,
            "element": [
                {
                    "code": STR,
                    "display": STR,
                    "noMap": BOOL,
                    "target": [
                        {
                            "code": STR,
                            "display": STR,
                            "equivalence": STR,
                            "relationship": STR,
                            "comment": STR,
                            "dependsOn": [DEPENDENCY],
                            "product": [DEPENDENCY],
                        }
                    ],
                }
            ],
            "unmapped": {"mode": STR, "code": STR, "display": STR, "url": STR, "relationship": STR},
        }
    ],
}
SCHEMAS: dict[str, dict[str, Spec]] = {
    "CodeSystem": CODE_SYSTEM,
    "ValueSet": VALUE_SET,
    "ConceptMap": CONCEPT_MAP,
    "Questionnaire": COMMON,
}


def problems(resource: Any, where: str | None = None) -> list[str]:
    """Where `resource` breaks the shapes above (empty when it is usable)."""
    found: list[str] = []
    _resource(resource, where, found)
    return found[:MAX_PROBLEMS]


def _resource(resource: Any, where: str | None, found: list[str]) -> None:
    if not isinstance(resource, dict):
        found.append(f"{where or 'resource'}: expected {OBJ}")
        return
    rtype = resource.get("resourceType")
    path = where or (rtype if isinstance(rtype, str) else "resource")
    schema = SCHEMAS.get(rtype) if isinstance(rtype, str) else None
    if schema is not None:
        _object(resource, schema, path, found)
    contained = resource.get("contained")
    if contained is None:
        return
    if not isinstance(contained, list):
        found.append(f"{path}.contained: expected an array")
        return
    for index, item in enumerate(contained):
        _resource(item, f"{path}.contained[{index}]", found)


def _object(value: dict[str, Any], schema: dict[str, Spec], path: str, found: list[str]) -> None:
    for key, spec in schema.items():
        if len(found) >= MAX_PROBLEMS:
            return
        if key in value and value[key] is not None:
            _value(value[key], spec, f"{path}.{key}", found)
        elif key in value:
            found.append(f"{path}.{key}: null is not allowed in FHIR JSON")


def _value(value: Any, spec: Spec, path: str, found: list[str]) -> None:
    if isinstance(spec, list):
        if not isinstance(value, list):
            found.append(f"{path}: expected an array")
            return
        for index, item in enumerate(value):
            if len(found) >= MAX_PROBLEMS:
                return
            _value(item, spec[0], f"{path}[{index}]", found)
    elif isinstance(spec, dict):
        if not isinstance(value, dict):
            found.append(f"{path}: expected {OBJ}")
        else:
            _object(value, spec, path, found)
    elif not _is(value, spec):
        found.append(f"{path}: expected {spec}")


def _is(value: Any, kind: str) -> bool:
    if kind == STR:
        return isinstance(value, str)
    if kind == BOOL:
        return isinstance(value, bool)
    if kind == INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == NUM:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True
