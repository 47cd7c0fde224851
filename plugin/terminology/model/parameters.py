"""The one parameters helper: GET query strings, form posts and `Parameters` bodies, for every operation.

Each operation declares its parameters (name, accepted types, cardinality) in `OPERATIONS`. A request
is turned into a list of FHIR `Parameters.parameter` dicts whatever its transport: query values are
coerced to the declared type (so `count=x` is a 400, not a crash), POSTed parameters are checked
against the declared types and cardinality. Parameters an operation does not declare are kept (FHIR
servers ignore what they do not understand) but never interpreted. `ParametersBuilder` builds output.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from plugin.terminology.errors import bad_request

STRINGS = ("String", "Code", "Uri", "Url", "Canonical", "Id", "Oid", "Uuid", "Markdown")
_INTEGER = re.compile(r"^[+-]?\d{1,9}$")


@dataclass(frozen=True)
class Param:
    """A declared input parameter. `kind`: str, bool, int, date, Coding, CodeableConcept, resource, any."""

    name: str
    kind: str = "str"
    many: bool = False
    resource_types: tuple[str, ...] = ()


def _table(*params: Param) -> dict[str, Param]:
    return {p.name: p for p in params}


_COMMON = (
    Param("tx-resource", "resource", many=True, resource_types=("CodeSystem", "ValueSet", "ConceptMap")),
    Param("displayLanguage"),
    Param("system-version", many=True),
    Param("check-system-version", many=True),
    Param("force-system-version", many=True),
    Param("default-valueset-version", many=True),
    Param("check-valueset-version", many=True),
    Param("force-valueset-version", many=True),
    Param("useSupplement", many=True),
    Param("profile", "any"),
    Param("diagnostics", "bool"),
)
_VALIDATE = (
    Param("url"),
    Param("code"),
    Param("system"),
    Param("systemVersion"),
    Param("version"),
    Param("display"),
    Param("coding", "Coding"),
    Param("codeableConcept", "CodeableConcept"),
    Param("date", "date"),
    Param("abstract", "bool"),
    Param("activeOnly", "bool"),
    Param("inferSystem", "bool"),
    Param("lenient-display-validation", "bool"),
    Param("valueset-membership-only", "bool"),
    Param("default-to-latest-version", "bool"),
    Param("mode"),
)

OPERATIONS: dict[str, dict[str, Param]] = {
    "expand": _table(
        *_COMMON,
        Param("url"),
        Param("valueSet", "resource", resource_types=("ValueSet",)),
        Param("valueSetVersion"),
        Param("context"),
        Param("contextDirection"),
        Param("filter"),
        Param("date", "date"),
        Param("offset", "int"),
        Param("count", "int"),
        Param("limit", "int"),
        Param("includeDesignations", "bool"),
        Param("designation", many=True),
        Param("includeDefinition", "bool"),
        Param("activeOnly", "bool"),
        Param("excludeNested", "bool"),
        Param("excludeNotForUI", "bool"),
        Param("excludePostCoordinated", "bool"),
        Param("exclude-system", many=True),
        Param("property", many=True),
        Param("default-to-latest-version", "bool"),
        Param("sort"),
    ),
    "valueset-validate-code": _table(
        *_COMMON,
        *_VALIDATE,
        Param("valueSet", "resource", resource_types=("ValueSet",)),
        Param("valueSetVersion"),
        Param("context"),
    ),
    "codesystem-validate-code": _table(
        *_COMMON,
        *_VALIDATE,
        Param("codeSystem", "resource", resource_types=("CodeSystem",)),
    ),
    "lookup": _table(
        *_COMMON,
        Param("code"),
        Param("system"),
        Param("version"),
        Param("coding", "Coding"),
        Param("date", "date"),
        Param("property", many=True),
    ),
    "subsumes": _table(
        *_COMMON,
        Param("codeA"),
        Param("codeB"),
        Param("system"),
        Param("version"),
        Param("codingA", "Coding"),
        Param("codingB", "Coding"),
    ),
    "translate": _table(
        *_COMMON,
        Param("url"),
        Param("conceptMap", "resource", resource_types=("ConceptMap",)),
        Param("conceptMapVersion"),
        Param("code"),
        Param("system"),
        Param("version"),
        Param("source"),
        Param("coding", "Coding"),
        Param("codeableConcept", "CodeableConcept"),
        Param("target"),
        Param("targetsystem"),
        Param("targetSystem"),
        Param("sourceCode"),
        Param("sourceSystem"),
        Param("sourceCoding", "Coding"),
        Param("sourceCodeableConcept", "CodeableConcept"),
        Param("targetCode"),
        Param("targetCoding", "Coding"),
        Param("targetCodeableConcept", "CodeableConcept"),
        Param("sourceScope"),
        Param("targetScope"),
        Param("dependency", "any", many=True),
        Param("reverse", "bool"),
    ),
    "batch-validate-code": _table(
        *_COMMON,
        *_VALIDATE,
        Param("valueSet", "resource", resource_types=("ValueSet",)),
        Param("valueSetVersion"),
        Param("validation", "resource", many=True, resource_types=("Parameters",)),
    ),
    "versions": _table(Param("_format")),
    "cache-control": _table(*_COMMON, Param("mode")),
}


class ParsedParameters:
    """Parameters of one request, in FHIR shape, with typed accessors."""

    def __init__(self, parameters: list[dict[str, Any]]) -> None:
        self.parameters = parameters

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.parameters)

    def all(self, name: str) -> list[dict[str, Any]]:
        return [p for p in self.parameters if p.get("name") == name]

    def first(self, name: str) -> dict[str, Any] | None:
        return next((p for p in self.parameters if p.get("name") == name), None)

    def has(self, name: str) -> bool:
        return self.first(name) is not None

    def value(self, name: str, default: Any = None) -> Any:
        param = self.first(name)
        if param is None:
            return default
        for key, value in param.items():
            if key.startswith("value"):
                return value
        return default

    def values(self, name: str) -> list[Any]:
        out = []
        for param in self.all(name):
            for key, value in param.items():
                if key.startswith("value"):
                    out.append(value)
                    break
        return out

    def string(self, name: str) -> str | None:
        value = self.value(name)
        return value if isinstance(value, str) and value != "" else None

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.value(name)
        return value if isinstance(value, bool) else default

    def integer(self, name: str) -> int | None:
        value = self.value(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def resource(self, name: str) -> dict[str, Any] | None:
        param = self.first(name)
        return param.get("resource") if param else None

    def resources(self, name: str) -> list[dict[str, Any]]:
        return [p["resource"] for p in self.all(name) if isinstance(p.get("resource"), dict)]


def from_query(operation: str, query: Iterable[tuple[str, str]]) -> ParsedParameters:
    table = OPERATIONS.get(operation, {})
    out: list[dict[str, Any]] = []
    for name, raw in query:
        declared = table.get(name)
        out.append(_coerce(name, raw, declared))
    _check_cardinality(operation, out)
    return ParsedParameters(out)


def _coerce(name: str, raw: str, declared: Param | None) -> dict[str, Any]:
    kind = declared.kind if declared else "str"
    if kind == "bool":
        if raw.lower() not in ("true", "false"):
            raise bad_request(f"Parameter '{name}' must be true or false, not '{raw}'", expression=[name])
        return {"name": name, "valueBoolean": raw.lower() == "true"}
    if kind == "int":
        if not _INTEGER.match(raw.strip()):
            raise bad_request(f"Parameter '{name}' must be an integer, not '{raw}'", expression=[name])
        return {"name": name, "valueInteger": int(raw)}
    if kind == "Coding":
        system, sep, code = raw.rpartition("|")
        coding = {"system": system, "code": code} if sep and system else {"code": raw}
        return {"name": name, "valueCoding": coding}
    if kind == "CodeableConcept":
        raise bad_request(f"Parameter '{name}' cannot be given in a query string; POST a Parameters resource")
    if kind == "resource":
        raise bad_request(f"Parameter '{name}' is a resource; POST a Parameters resource to send it")
    return {"name": name, "valueString": raw}


def from_body(operation: str, body: bytes, query: Iterable[tuple[str, str]] = ()) -> ParsedParameters:
    """A POSTed `Parameters` resource (plus any query parameters on the URL)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object (a FHIR Parameters resource)")
    return from_resource(operation, data, query)


def from_resource(
    operation: str, data: dict[str, Any], query: Iterable[tuple[str, str]] = ()
) -> ParsedParameters:
    """A `Parameters` resource already read from JSON (a body, or one nested in another's parameter)."""
    if data.get("resourceType") != "Parameters":
        found = data.get("resourceType")
        raise bad_request(
            f"The request body must be a Parameters resource, not {found!r}"
            if found
            else "The request body has no resourceType; expected a Parameters resource"
        )
    raw_params = data.get("parameter", [])
    if not isinstance(raw_params, list):
        raise bad_request("Parameters.parameter must be an array", expression=["Parameters.parameter"])
    table = OPERATIONS.get(operation, {})
    out = [_coerce(name, value, table.get(name)) for name, value in query if name not in ("_format",)]
    for index, param in enumerate(raw_params):
        where = f"Parameters.parameter[{index}]"
        if not isinstance(param, dict) or not isinstance(param.get("name"), str) or not param["name"]:
            raise bad_request(f"{where} must be an object with a name", expression=[where])
        declared = table.get(param["name"])
        if declared is not None:
            _check_type(param, declared, where)
        out.append(param)
    _check_cardinality(operation, out)
    return ParsedParameters(out)


def _check_type(param: dict[str, Any], declared: Param, where: str) -> None:
    name = declared.name
    value_keys = [k for k in param if k.startswith("value")]
    if declared.kind == "any":
        return
    if declared.kind == "resource":
        resource = param.get("resource")
        if not isinstance(resource, dict):
            raise bad_request(f"Parameter '{name}' must carry a resource", expression=[where])
        if declared.resource_types and resource.get("resourceType") not in declared.resource_types:
            raise bad_request(
                f"Parameter '{name}' must be a {' or '.join(declared.resource_types)}, "
                f"not {resource.get('resourceType')!r}",
                expression=[where],
            )
        return
    if len(value_keys) != 1:
        raise bad_request(f"Parameter '{name}' must have exactly one value[x]", expression=[where])
    key = value_keys[0]
    value = param[key]
    suffix = key[5:]
    if declared.kind == "bool" and suffix == "Boolean" and value in ("true", "false"):
        # Tolerated: some clients send JSON strings for booleans; read them as meant.
        value = param[key] = value == "true"
    ok = {
        "str": suffix in STRINGS and isinstance(value, str),
        "bool": suffix == "Boolean" and isinstance(value, bool),
        "int": suffix in ("Integer", "PositiveInt", "UnsignedInt", "Integer64")
        and isinstance(value, int)
        and not isinstance(value, bool),
        "date": suffix in ("Date", "DateTime", "Instant") and isinstance(value, str),
        "Coding": suffix == "Coding" and isinstance(value, dict),
        "CodeableConcept": suffix == "CodeableConcept" and isinstance(value, dict),
    }.get(declared.kind, True)
    if not ok:
        raise bad_request(f"Parameter '{name}' has the wrong type ({key})", expression=[where])
    if declared.kind in ("Coding", "CodeableConcept"):
        _check_coding_shape(name, value, declared.kind, where)


def _check_coding_shape(name: str, value: dict[str, Any], kind: str, where: str) -> None:
    codings = [value] if kind == "Coding" else value.get("coding", [])
    if not isinstance(codings, list):
        raise bad_request(f"Parameter '{name}': coding must be an array", expression=[where])
    for coding in codings:
        if not isinstance(coding, dict):
            raise bad_request(f"Parameter '{name}': each Coding must be an object", expression=[where])
        for key in ("system", "version", "code", "display"):
            if key in coding and not isinstance(coding[key], str):
                raise bad_request(f"Parameter '{name}': Coding.{key} must be a string", expression=[where])
    if kind == "CodeableConcept" and "text" in value and not isinstance(value["text"], str):
        raise bad_request(f"Parameter '{name}': text must be a string", expression=[where])


def _check_cardinality(operation: str, params: list[dict[str, Any]]) -> None:
    table = OPERATIONS.get(operation, {})
    seen: dict[str, int] = {}
    for param in params:
        seen[param["name"]] = seen.get(param["name"], 0) + 1
    for name, count in seen.items():
        declared = table.get(name)
        if declared is not None and not declared.many and count > 1:
            raise bad_request(f"Parameter '{name}' may appear only once", expression=[name])


class ParametersBuilder:
    """Output `Parameters`, parameter by parameter."""

    def __init__(self) -> None:
        self.parameters: list[dict[str, Any]] = []

    def add(self, name: str, value_type: str, value: Any) -> ParametersBuilder:
        if value is not None:
            self.parameters.append({"name": name, f"value{value_type}": value})
        return self

    def add_resource(self, name: str, resource: dict[str, Any]) -> ParametersBuilder:
        self.parameters.append({"name": name, "resource": resource})
        return self

    def add_parts(self, name: str, parts: list[dict[str, Any]]) -> ParametersBuilder:
        self.parameters.append({"name": name, "part": parts})
        return self

    def has(self, name: str) -> bool:
        return any(p["name"] == name for p in self.parameters)

    def build(self) -> dict[str, Any]:
        return {"resourceType": "Parameters", "parameter": self.parameters}


def part(name: str, value_type: str, value: Any) -> dict[str, Any]:
    return {"name": name, f"value{value_type}": value}


def query_pairs(args: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Werkzeug MultiDict -> ordered (name, value) pairs, repeats kept."""
    items = args.items(multi=True) if hasattr(args, "items") else args  # type: ignore[call-arg]
    return [(str(k), str(v)) for k, v in items]
