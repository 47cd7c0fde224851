"""Structure: resourceType known, fhir.resources R4B model validation, and the required bindings the
models leave unchecked (status, content, equivalence, ...)."""

from __future__ import annotations

import functools
import re
from typing import Any

from plugin.content.problems import Located, join_path

# Required bindings that fhir.resources does not enforce (it accepts any code string).
PUBLICATION_STATUS = {"draft", "active", "retired", "unknown"}
# R4 filter-operator (required binding), for include and exclude filters alike.
FILTER_OPERATORS = {
    "=",
    "is-a",
    "descendent-of",
    "is-not-a",
    "regex",
    "in",
    "not-in",
    "generalizes",
    "exists",
}
ENUMS: dict[str, dict[str, set[str]]] = {
    "CodeSystem": {
        "status": PUBLICATION_STATUS,
        "content": {"not-present", "example", "fragment", "complete", "supplement"},
        "hierarchyMeaning": {"grouped-by", "is-a", "part-of", "classified-with"},
        "property[].type": {"code", "Coding", "string", "integer", "boolean", "dateTime", "decimal"},
    },
    "ValueSet": {
        "status": PUBLICATION_STATUS,
        "compose.include[].filter[].op": FILTER_OPERATORS,
        "compose.exclude[].filter[].op": FILTER_OPERATORS,
    },
    "ConceptMap": {
        "status": PUBLICATION_STATUS,
        "group[].element[].target[].equivalence": {
            "relatedto",
            "equivalent",
            "equal",
            "wider",
            "subsumes",
            "narrower",
            "specializes",
            "inexact",
            "unmatched",
            "disjoint",
        },
        "group[].unmapped.mode": {"provided", "fixed", "other-map"},
    },
    "Questionnaire": {
        "status": PUBLICATION_STATUS,
        "item[].type": {
            "group",
            "display",
            "boolean",
            "decimal",
            "integer",
            "date",
            "dateTime",
            "time",
            "string",
            "text",
            "url",
            "choice",
            "open-choice",
            "attachment",
            "reference",
            "quantity",
        },
        "item[].enableWhen[].operator": {"exists", "=", "!=", ">", "<", ">=", "<="},
    },
    "Bundle": {
        "type": {
            "document",
            "message",
            "transaction",
            "transaction-response",
            "batch",
            "batch-response",
            "history",
            "searchset",
            "collection",
        },
        "entry[].request.method": {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"},
    },
}


@functools.cache
def _model_class(resource_type: str) -> Any:
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(resource_type)
    except (ValueError, KeyError):
        return None


def known_resource_type(resource_type: str) -> bool:
    return bool(re.fullmatch(r"[A-Z][A-Za-z]+", resource_type)) and _model_class(resource_type) is not None


def check_structure(loc: Located, *, in_bundle: bool = False) -> None:
    """Validate one resource against its R4B model. Bundle entries are validated on their own, so a Bundle is
    validated with its entries' resources left out (one error each, at its own path)."""
    rtype = loc.resource.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        loc.error(loc.base or "(resource)", "resourceType is missing")
        return
    if not known_resource_type(rtype):
        loc.error(loc.base or rtype, f"resourceType {rtype!r} is not a FHIR R4 resource type")
        return
    data = loc.resource
    if rtype == "Bundle" and isinstance(data.get("entry"), list):
        data = {**data, "entry": [_without_resource(e) for e in data["entry"]]}
    _validate_model(loc, rtype, data)
    _check_enums(loc, rtype)


def _without_resource(entry: Any) -> Any:
    if isinstance(entry, dict) and "resource" in entry:
        return {k: v for k, v in entry.items() if k != "resource"}
    return entry


def _validate_model(loc: Located, rtype: str, data: dict[str, Any]) -> None:
    from pydantic import ValidationError

    model = _model_class(rtype)
    try:
        model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            parts = [_fhir_name(p) if isinstance(p, str) else p for p in error["loc"]]
            loc.error(join_path(loc.base, parts), _message(error))
    except (KeyError, TypeError, ValueError) as exc:
        # fhir_core raises plain exceptions for some malformed nested content (e.g. unknown contained types).
        loc.error(loc.base, f"does not validate as R4 {rtype}: {exc!r}")


def _fhir_name(name: str) -> str:
    if name == "resource_type":
        return "resourceType"
    if name.endswith("__ext"):
        return "_" + name[: -len("__ext")]
    if name.endswith("_fhir"):
        return name[: -len("_fhir")]
    return name


def _message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    message = " ".join(str(error.get("msg", "")).split())
    message = message.removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return "unknown element (not in the R4 definition)"
    if "input" in error and kind not in {"missing", "model_field_validation.missing"}:
        value = error["input"]
        if isinstance(value, str | int | float | bool):
            return f"{message} (got {value!r})"
    return message


def _check_enums(loc: Located, rtype: str) -> None:
    for spec, allowed in ENUMS.get(rtype, {}).items():
        for path, value in _walk(loc.resource, spec.split("."), []):
            if isinstance(value, str) and value not in allowed:
                loc.error(join_path(loc.base, path), f"{value!r} is not one of {', '.join(sorted(allowed))}")


def _walk(node: Any, steps: list[str], path: list[str | int]) -> list[tuple[list[str | int], Any]]:
    if not steps:
        return [(path, node)]
    if not isinstance(node, dict):
        return []
    step, rest = steps[0], steps[1:]
    if step.endswith("[]"):
        name = step[:-2]
        items = node.get(name)
        if not isinstance(items, list):
            return []
        found: list[tuple[list[str | int], Any]] = []
        for index, item in enumerate(items):
            found.extend(_walk(item, rest, [*path, name, index]))
        if name == "item":  # Questionnaire items nest
            for index, item in enumerate(items):
                if isinstance(item, dict) and isinstance(item.get("item"), list):
                    found.extend(_walk(item, steps, [*path, name, index]))
        return found
    if step not in node:
        return []
    return _walk(node[step], rest, [*path, step])
