"""Sort the actual response the way TxTesterSorters does, so that ordered comparison is fair.

The expected files are written in this order. Sorting is stable (as Java's Collections.sort) and
strings compare by UTF-16 code units (as String.compareTo). The Java comparators sort a parameter's
parts and extensions as a side effect of comparing it, which only happens when its list has two or
more members; that is kept, since the expected files were produced by exactly that code.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cmp_to_key
from typing import Any

from tools.txtests.fhirjson import primitive_text

Json = Any


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def jcmp(a: Any, b: Any) -> int:
    """String.compareTo: by UTF-16 code units; None sorts as the empty string."""
    x = _as_text(a).encode("utf-16-be")
    y = _as_text(b).encode("utf-16-be")
    return (x > y) - (x < y)


def _sort(items: list, compare: Callable[[Any, Any], int], of: type = dict) -> None:
    """Stable sort; a list holding anything but the expected item type (a malformed response) is
    left alone so that the comparison, not the sort, reports it."""
    if len(items) >= 2 and all(isinstance(item, of) for item in items):
        items.sort(key=cmp_to_key(compare))


def _list(node: dict, key: str) -> list:
    value = node.get(key)
    return value if isinstance(value, list) else []


def value_of(element: dict) -> Json:
    """The value[x] of an element (Parameters.parameter, expansion.parameter, ...)."""
    for key, value in element.items():
        if key.startswith("value") and len(key) > 5 and key[5].isupper():
            return value
    return None


def _text(element: dict | None, key: str = "") -> str | None:
    if not isinstance(element, dict):
        return None
    return primitive_text(element.get(key) if key else value_of(element))


# -- extensions --------------------------------------------------------------------------------


def sort_extensions(extensions: list) -> None:
    if len(extensions) < 2:
        return
    for ext in extensions:
        if isinstance(ext, dict):
            sort_extensions(_list(ext, "extension"))
    _sort(extensions, lambda a, b: jcmp(a.get("url"), b.get("url")))


# -- Parameters ----------------------------------------------------------------------------------


def _part(param: dict, name: str) -> dict | None:
    for part in _list(param, "part"):
        if isinstance(part, dict) and part.get("name") == name:
            return part
    return None


def _lower(text: str | None) -> str | None:
    return text.lower() if text is not None else None


def _compare_parameters(a: dict, b: dict) -> int:
    name_a, name_b = a.get("name"), b.get("name")
    if name_a == name_b == "property":
        code_a, code_b = _lower(_text(_part(a, "code"))), _lower(_text(_part(b, "code")))
        if code_a is not None and code_b is not None and code_a != code_b:
            return jcmp(code_a, code_b)
        val_a, val_b = _lower(_text(_part(a, "value"))), _lower(_text(_part(b, "value")))
        if val_a is not None and val_b is not None and val_a != val_b:
            return jcmp(val_a, val_b)
    if name_a == name_b == "designation":
        lang_a = _lower(_text(_part(a, "language"))) or ""
        lang_b = _lower(_text(_part(b, "language"))) or ""
        if lang_a != lang_b:
            return jcmp(lang_a, lang_b)
        val_a, val_b = _lower(_text(_part(a, "value"))), _lower(_text(_part(b, "value")))
        if val_a is not None and val_b is not None and val_a != val_b:
            return jcmp(val_a, val_b)
    return jcmp(name_a, name_b)


def _sort_parameter_list(params: list) -> None:
    if len(params) < 2:
        return
    for param in params:
        if isinstance(param, dict):
            sort_extensions(_list(param, "extension"))
            _sort_parameter_list(_list(param, "part"))
    _sort(params, _compare_parameters)


def sort_parameters(resource: dict) -> None:
    params = _list(resource, "parameter")
    _sort_parameter_list(params)
    for param in params:
        if not isinstance(param, dict):
            continue
        nested = param.get("resource")
        if isinstance(nested, dict):
            if nested.get("resourceType") == "OperationOutcome":
                sort_operation_outcome(nested)
            elif nested.get("resourceType") == "Parameters":
                sort_parameters(nested)
        if param.get("name") == "message":
            _sort_message(param)


def _sort_message(param: dict) -> None:
    """A message joining several issue texts with '; ' has its pieces put in order."""
    value = value_of(param)
    if not isinstance(value, str) or "; " not in value:
        return
    pieces = sorted(value.split("; "), key=cmp_to_key(jcmp))
    for key in [k for k in param if k.startswith("value")]:
        del param[key]
    param["valueString"] = "; ".join(pieces)


# -- OperationOutcome ----------------------------------------------------------------------------


def _compare_issues(a: dict, b: dict) -> int:
    def first_expression(issue: dict) -> str:
        expressions = _list(issue, "expression")
        return expressions[0] if expressions and isinstance(expressions[0], str) else ""

    def details_text(issue: dict) -> str:
        details = issue.get("details")
        text = details.get("text") if isinstance(details, dict) else None
        return text if isinstance(text, str) else ""

    for get in (
        lambda i: i.get("severity") or "",
        lambda i: i.get("code") or "",
        first_expression,
        details_text,
    ):
        result = jcmp(get(a), get(b))
        if result:
            return result
    return 0


def sort_operation_outcome(resource: dict) -> None:
    _sort(_list(resource, "issue"), _compare_issues)


# -- ValueSet ------------------------------------------------------------------------------------


def _compare_expansion_parameters(a: dict, b: dict) -> int:
    return jcmp(a.get("name"), b.get("name")) or jcmp(_text(a), _text(b))


def _compare_property_definitions(a: dict, b: dict) -> int:
    uri_a, uri_b = a.get("uri"), b.get("uri")
    if uri_a is None or uri_b is None:
        result = 0 if uri_a is None and uri_b is None else (-1 if uri_a is None else 1)
    else:
        result = jcmp(uri_a, uri_b)
    return result or jcmp(a.get("code"), b.get("code"))


def _compare_designations(a: dict, b: dict) -> int:
    if a.get("language") and b.get("language"):
        return jcmp(a.get("language"), b.get("language"))
    return jcmp(a.get("value"), b.get("value"))


def _by(key: str) -> Callable[[dict, dict], int]:
    return lambda a, b: jcmp(primitive_text(a.get(key)), primitive_text(b.get(key)))


def _sort_contains_features(item: dict) -> None:
    children = _list(item, "contains")
    _sort(children, _by("code"))
    sort_extensions(_list(item, "extension"))
    _sort(_list(item, "designation"), _compare_designations)
    _sort(_list(item, "property"), _by("code"))
    for child in children:
        if isinstance(child, dict):
            _sort_contains_features(child)


def sort_value_set(resource: dict) -> None:
    sort_extensions(_list(resource, "extension"))
    expansion = resource.get("expansion")
    if not isinstance(expansion, dict):
        return
    parameters = _list(expansion, "parameter")
    if len(parameters) >= 2:
        for param in parameters:
            if isinstance(param, dict):
                sort_extensions(_list(param, "extension"))
    _sort(parameters, _compare_expansion_parameters)
    _sort(_list(expansion, "property"), _compare_property_definitions)
    sort_extensions(_list(expansion, "extension"))
    contains = _list(expansion, "contains")
    _sort(contains, _by("code"))
    for item in contains:
        if isinstance(item, dict):
            _sort_contains_features(item)


# -- CapabilityStatement and TerminologyCapabilities --------------------------------------------


def _strings(node: dict, key: str) -> None:
    _sort(_list(node, key), jcmp, of=str)


def _compare_codings(a: dict, b: dict) -> int:
    if a.get("system") == b.get("system"):
        return jcmp(a.get("code"), b.get("code"))
    return jcmp(a.get("system"), b.get("system"))


def _compare_concepts(a: dict, b: dict) -> int:
    codings_a, codings_b = _list(a, "coding"), _list(b, "coding")
    if codings_a and codings_b and isinstance(codings_a[0], dict) and isinstance(codings_b[0], dict):
        return _compare_codings(codings_a[0], codings_b[0])
    return jcmp(a.get("text"), b.get("text"))


def sort_capability_statement(resource: dict) -> None:
    for key in ("format", "instantiates", "imports", "acceptLanguage"):
        _strings(resource, key)
    rests = _list(resource, "rest")
    _sort(rests, _by("mode"))
    for rest in rests:
        if not isinstance(rest, dict):
            continue
        security = rest.get("security")
        if isinstance(security, dict):
            for concept in _list(security, "service"):
                if isinstance(concept, dict):
                    _sort(_list(concept, "coding"), _compare_codings)
            _sort(_list(security, "service"), _compare_concepts)
        resources = _list(rest, "resource")
        _sort(resources, _by("type"))
        for res in [r for r in resources if isinstance(r, dict)]:
            _strings(res, "supportedProfile")
            _sort(_list(res, "interaction"), _by("code"))
            _strings(res, "searchInclude")
            _strings(res, "searchRevInclude")
            _sort(_list(res, "searchParam"), _by("name"))
            _sort(_list(res, "operation"), _by("name"))
        _sort(_list(rest, "interaction"), _by("code"))
        _sort(_list(rest, "searchParam"), _by("name"))
        _sort(_list(rest, "operation"), _by("name"))
        _strings(rest, "compartment")


def sort_terminology_capabilities(resource: dict) -> None:
    systems = _list(resource, "codeSystem")
    _sort(systems, _by("uri"))
    for system in [s for s in systems if isinstance(s, dict)]:
        versions = _list(system, "version")
        _sort(versions, _by("code"))
        for version in [v for v in versions if isinstance(v, dict)]:
            _strings(version, "language")
            _strings(version, "property")
            _sort(_list(version, "filter"), _by("code"))
    expansion = resource.get("expansion")
    if isinstance(expansion, dict):
        _sort(_list(expansion, "parameter"), _by("name"))


# -- dispatch ------------------------------------------------------------------------------------


def sort_resource(resource: Json) -> None:
    """Sort a scrubbed response by its type. A top-level OperationOutcome (an error body) is left
    as it came, as in the official runner."""
    if not isinstance(resource, dict):
        return
    kind = resource.get("resourceType")
    if kind == "Parameters":
        sort_parameters(resource)
    elif kind == "ValueSet":
        sort_value_set(resource)
    elif kind == "CapabilityStatement":
        sort_capability_statement(resource)
    elif kind == "TerminologyCapabilities":
        sort_terminology_capabilities(resource)
    elif kind == "Bundle":
        for entry in _list(resource, "entry"):
            nested = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(nested, dict) and nested.get("resourceType") == "Parameters":
                sort_parameters(nested)
