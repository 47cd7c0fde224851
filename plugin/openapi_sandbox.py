"""What the sandbox FHIR server's searches accept, written into the OpenAPI document from the table that
answers them (plugin/sandbox/search.py `SEARCH_PARAMS`).

Which search parameters a search takes depends on the resource type, which one templated path cannot
say. So each type gets its own concrete paths (`/sandbox/fhir/Patient`, `/sandbox/fhir/Patient/_search`)
with the parameters that type takes - OpenAPI matches concrete paths before templated ones - and the
templated `/sandbox/fhir/{kind}` keeps only those every type takes (`_id`, `_count`). A generated client
gets one typed search per resource type, as from a FHIR server's own OpenAPI document.
"""

from __future__ import annotations

import copy
from typing import Any

from plugin.sandbox.search import SEARCH_PARAMS

SEARCH = "/sandbox/fhir/{kind}"
SEARCH_POST = "/sandbox/fhir/{kind}/_search"
# A comma separates alternatives (OR); at least one alternative must be there.
_VALUE = {"type": "string", "minLength": 1, "pattern": "[^,]"}
_COUNT = {"type": "integer", "minimum": 0, "maximum": 1000}
_COMMON = {"_id": _VALUE, "_count": _COUNT}


def _fields(kind: str | None) -> dict[str, dict[str, Any]]:
    """Parameter name -> schema of its value: every type's, plus `kind`'s own."""
    own = {name: dict(_VALUE) for name in sorted(SEARCH_PARAMS[kind])} if kind else {}
    return {**copy.deepcopy(_COMMON), **own}


def _query(fields: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "required": False, "schema": s} for n, s in fields.items()]


def _form(fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"type": "object", "properties": fields, "additionalProperties": False}


def _for_kind(operation: dict[str, Any], kind: str, suffix: str) -> dict[str, Any]:
    """A copy of the templated operation for one resource type: no `kind` path parameter."""
    one = copy.deepcopy(operation)
    one["parameters"] = [p for p in one.get("parameters", []) if p.get("name") != "kind"]
    one["operationId"] = f"{operation['operationId']}{kind}"
    one["summary"] = f"{operation['summary']}: {kind}{suffix}"
    return one


def sandbox_search_schemas(document: dict[str, Any]) -> None:
    """Write the per-type search paths and narrow the templated ones to what every type takes."""
    paths = document["paths"]
    get = paths.get(SEARCH, {}).get("get")
    post = paths.get(SEARCH_POST, {}).get("post")
    if get is None or post is None:
        return
    for kind in SEARCH_PARAMS:
        fields = _fields(kind)
        search = _for_kind(get, kind, "")
        search["parameters"] = _query(fields)
        by_post = _for_kind(post, kind, " (form parameters)")
        by_post["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"] = _form(fields)
        paths[f"/sandbox/fhir/{kind}"] = {"get": search}
        paths[f"/sandbox/fhir/{kind}/_search"] = {"post": by_post}
    common = _fields(None)
    get["parameters"] = [p for p in get["parameters"] if p.get("in") == "path"] + _query(common)
    get["description"] = (
        "The parameters every type takes; each type's own are on its path (/sandbox/fhir/Patient, ...)."
    )
    post["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"] = _form(common)
