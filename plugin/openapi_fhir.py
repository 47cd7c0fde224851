"""What the terminology operations accept, written into the OpenAPI document from the code that
accepts it: each operation's declared parameters (plugin/terminology/model/parameters.py `OPERATIONS`).

- every query parameter an operation declares gets the type the server coerces it to (a boolean is
  `true`/`false`, an integer digits, a date a FHIR date, `system-version` and its kin `system|version`,
  `displayLanguage` a language tag);
- the POST body of each operation is a `Parameters` resource whose `parameter` entries are the
  declared ones with their declared value[x] (a resource for `tx-resource`, `valueSet`, ...), and the
  form post takes the declared parameters that a string can carry;
- `_format` names only the formats the server speaks (anything else is a 406).
"""

from __future__ import annotations

from typing import Any

from plugin.terminology.model.parameters import OPERATIONS, Param

# The terminology blueprint's accepted `_format` values (plugin/terminology/http.py).
FORMATS = ["json", "application/json", "application/fhir+json", "application/json+fhir", "text/json"]
_OPERATION_KEYS = {
    ("CodeSystem", "$lookup"): "lookup",
    ("CodeSystem", "$validate-code"): "codesystem-validate-code",
    ("CodeSystem", "$subsumes"): "subsumes",
    ("ValueSet", "$expand"): "expand",
    ("ValueSet", "$validate-code"): "valueset-validate-code",
    ("ValueSet", "$batch-validate-code"): "batch-validate-code",
    ("ConceptMap", "$translate"): "translate",
}
_VERSION_RULES = {
    "system-version",
    "check-system-version",
    "force-system-version",
    "default-valueset-version",
    "check-valueset-version",
    "force-valueset-version",
}
# FHIR date, dateTime (as the operations read `date`).
DATE = (
    r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
LANGUAGE = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
VERSION_RULE = r"^[^|\s]+\|[^|\s]+$"
_STRING = {"type": "string", "minLength": 1}


def operation_key(path: str) -> str | None:
    """'/fhir/r5/ValueSet/{resource_id}/$expand' -> 'expand'; None for paths that are not operations."""
    parts = [p for p in path.split("/") if p and not p.startswith("{")]
    if len(parts) < 3 or not parts[-1].startswith("$"):
        return None
    return _OPERATION_KEYS.get((parts[-2], parts[-1]))


def query_schema(param: Param) -> dict[str, Any]:
    """The schema of one query value of a declared parameter."""
    if param.kind == "bool":
        return {"type": "boolean"}
    if param.kind == "int":
        return {"type": "integer", "minimum": 0, "maximum": 999_999_999}
    if param.kind == "date":
        return {"type": "string", "pattern": DATE, "example": "2026-11-25"}
    if param.name in _VERSION_RULES:
        return {"type": "string", "pattern": VERSION_RULE}
    if param.name == "displayLanguage":
        return {"type": "string", "pattern": LANGUAGE, "example": "en"}
    if param.kind == "Coding":
        return {"type": "string", "pattern": r"^[^|\s]+\|[^|\s]+$", "description": "system|code"}
    return dict(_STRING)


def _value_schema(param: Param) -> dict[str, Any]:
    """One entry of Parameters.parameter for a declared parameter, with its value[x] or resource."""
    if param.kind == "resource":
        resource: dict[str, Any] = {"type": "object", "required": ["resourceType"]}
        if param.resource_types:
            resource["properties"] = {"resourceType": {"enum": list(param.resource_types)}}
        value = {"resource": resource}
    elif param.kind == "bool":
        value = {"valueBoolean": {"type": "boolean"}}
    elif param.kind == "int":
        value = {"valueInteger": {"type": "integer", "minimum": 0, "maximum": 999_999_999}}
    elif param.kind == "date":
        value = {"valueDate": {"type": "string", "pattern": DATE}}
    elif param.kind == "Coding":
        value = {"valueCoding": {"$ref": "#/components/schemas/FhirCoding"}}
    elif param.kind == "CodeableConcept":
        concept = {
            "type": "object",
            "properties": {"coding": {"type": "array", "items": {"$ref": "#/components/schemas/FhirCoding"}}},
        }
        value = {"valueCodeableConcept": concept}
    elif param.kind == "any":  # read by name only (e.g. `profile`): any value[x], resource or parts
        return {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"const": param.name},
                "valueString": _STRING,
                "resource": {"type": "object", "required": ["resourceType"]},
                "part": {"type": "array", "items": {"type": "object"}},
            },
            "maxProperties": 2,
            "additionalProperties": False,
        }
    else:
        value = {"valueString": query_schema(param)}
    return {
        "type": "object",
        "required": ["name", *value],
        "properties": {"name": {"const": param.name}, **value},
        "additionalProperties": False,
    }


def parameters_schema(key: str, required: list[str]) -> dict[str, Any]:
    """The `Parameters` body of operation `key`; `required` names parameters it cannot do without.

    The required ones are written first (`prefixItems`), each once; the server takes them in any order,
    but JSON Schema has no other way to say "exactly once" that generators honour. A parameter that is
    not repeatable may appear at most once (`maxContains`)."""
    table = {name: p for name, p in OPERATIONS[key].items() if name != "_format"}
    parameter: dict[str, Any] = {
        "type": "array",
        # A repeatable required parameter (`validation`) may come again after its first, required place.
        "items": {"oneOf": [_value_schema(p) for name, p in table.items() if name not in required or p.many]},
    }
    if required:
        parameter["prefixItems"] = [_value_schema(table[name]) for name in required]
        parameter["minItems"] = len(required)
    parameter["allOf"] = [
        {"contains": {"properties": {"name": {"const": name}}}, "minContains": 0, "maxContains": 1}
        for name, p in table.items()
        if not p.many and name not in required
    ]
    return {
        "type": "object",
        "required": ["resourceType", "parameter"],
        "properties": {"resourceType": {"const": "Parameters"}, "parameter": parameter},
    }


def _form_schema(key: str, required: list[str]) -> dict[str, Any] | None:
    """The form post's fields, or None when a required parameter cannot be a form field."""
    table = OPERATIONS[key]
    properties = {
        name: query_schema(p)
        for name, p in table.items()
        if p.kind not in ("resource", "CodeableConcept", "any")
    }
    properties.pop("_format", None)
    if any(name not in properties for name in required):
        return None
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def _typed_query(operation: dict[str, Any], key: str | None) -> list[str]:
    """Type the operation's query parameters; returns the names documented as required."""
    table = OPERATIONS.get(key, {}) if key else {}
    required = []
    for param in operation.get("parameters", []):
        if param.get("in") != "query":
            continue
        if param["name"] == "_format":
            param["schema"] = {"type": "string", "enum": FORMATS}
            continue
        declared = table.get(param["name"])
        if declared is not None:
            one = query_schema(declared)
            param["schema"] = {"type": "array", "items": one} if declared.many else one
        if param.get("required"):
            required.append(param["name"])
    return required


def fhir_operation_schemas(document: dict[str, Any]) -> None:
    """Write the accepted parameter types and bodies into every FHIR path of `document`."""
    components = document["components"]["schemas"]
    components.setdefault(
        "FhirCoding",
        {
            "type": "object",
            "properties": {
                "system": _STRING,
                "version": _STRING,
                "code": _STRING,
                "display": _STRING,
            },
            "additionalProperties": False,
        },
    )
    for path, item in document["paths"].items():
        if not path.startswith("/fhir"):
            continue
        key = operation_key(path)
        # What the GET form requires, the POST body requires too (or what x-required names there).
        required_in_get = _typed_query(item["get"], key) if "get" in item else []
        for method, operation in item.items():
            if method == "get":
                continue
            _typed_query(operation, key)
            if key is None or method != "post":
                continue
            required = operation.pop("x-required", required_in_get)
            name = (
                f"Parameters-{key}-{len(required)}-" + "-".join(required) if required else f"Parameters-{key}"
            )
            components.setdefault(name, parameters_schema(key, required))
            content = operation.get("requestBody", {}).get("content", {})
            if "application/fhir+json" in content:
                content["application/fhir+json"]["schema"] = {"$ref": f"#/components/schemas/{name}"}
            if required:
                operation["requestBody"]["required"] = True
            if "application/x-www-form-urlencoded" in content:
                form = _form_schema(key, required)
                if form is None:
                    del content["application/x-www-form-urlencoded"]
                else:
                    content["application/x-www-form-urlencoded"]["schema"] = form
