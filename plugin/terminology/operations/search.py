"""Read and search for the conformance resources we publish - http://hl7.org/fhir/R5/http.html#read,
http://hl7.org/fhir/R5/search.html.

Types: CodeSystem, ValueSet, ConceptMap, Questionnaire. Search parameters: url, version, name and
title (case-insensitive starts-with, as FHIR string search), status, _id, _count, _offset (paging).
Output: a searchset Bundle with total and self/next/previous links.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from plugin.terminology.errors import bad_request, not_found
from plugin.terminology.model.registry import Registry

SEARCHABLE = ("CodeSystem", "ValueSet", "ConceptMap", "Questionnaire")
DEFAULT_COUNT = 50
MAX_COUNT = 1000
_KNOWN = {"url", "version", "name", "title", "status", "_id", "_count", "_offset", "_format", "_summary"}


def read(registry: Registry, resource_type: str, resource_id: str) -> dict[str, Any]:
    found = registry.by_id(resource_type, resource_id)
    if found is None:
        raise not_found(f"{resource_type}/{resource_id} is not known here")
    return found


def _int(name: str, raw: str | None, default: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise bad_request(f"Search parameter {name} must be a non-negative integer, not '{raw}'") from exc
    if value < 0:
        raise bad_request(f"Search parameter {name} must be a non-negative integer, not '{raw}'")
    return value


@dataclass(frozen=True)
class SearchQuery:
    """One search request, read: the criteria by parameter name (with any modifier), the page asked for,
    and the query as given (the Bundle's links repeat it)."""

    criteria: dict[str, list[str]]
    count: int = DEFAULT_COUNT
    offset: int = 0
    summary_count: bool = False
    given: tuple[tuple[str, str], ...] = ()


def read_query(resource_type: str, query: list[tuple[str, str]]) -> SearchQuery:
    """Check and read a search query string's pairs; unknown parameters and modifiers are 400s."""
    criteria: dict[str, list[str]] = {}
    for name, value in query:
        field, _, modifier = name.partition(":")
        if field not in _KNOWN:
            raise bad_request(
                f"Unknown search parameter '{name}' for {resource_type}; supported: "
                + ", ".join(sorted(_KNOWN - {"_format", "_summary"}))
            )
        if modifier and modifier not in ("exact", "contains"):
            raise bad_request(f"Unsupported search modifier ':{modifier}' on '{field}'")
        criteria.setdefault(name, []).append(value)
    return SearchQuery(
        criteria=criteria,
        count=min(_int("_count", (criteria.get("_count") or [None])[-1], DEFAULT_COUNT), MAX_COUNT),
        offset=_int("_offset", (criteria.get("_offset") or [None])[-1], 0),
        summary_count=criteria.get("_summary") == ["count"],
        given=tuple(query),
    )


def search(
    registry: Registry, resource_type: str, query: list[tuple[str, str]], base_url: str
) -> dict[str, Any]:
    """The handler's entry: read the query string's pairs, then `search_resources`."""
    return search_resources(registry, resource_type, read_query(resource_type, query), base_url)


def search_resources(
    registry: Registry, resource_type: str, query: SearchQuery, base_url: str
) -> dict[str, Any]:
    """The searchset Bundle of `resource_type` resources in `registry` that match `query`, one page of
    them, with total and self/next/previous links under `base_url`."""
    count, offset = query.count, query.offset
    matches = [r for r in registry.resources(resource_type) if r.get("id") and _matches(r, query.criteria)]
    matches.sort(key=lambda r: (r.get("url") or "", r.get("version") or "", r.get("id") or ""))
    page = matches[offset : offset + count]
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": len(matches)}
    given = list(query.given)
    plain = [(k, v) for k, v in given if k not in ("_offset",)]
    links = [{"relation": "self", "url": _link(base_url, resource_type, given)}]
    if offset + count < len(matches) and count > 0:
        links.append(
            {
                "relation": "next",
                "url": _link(base_url, resource_type, [*plain, ("_offset", str(offset + count))]),
            }
        )
    if offset > 0:
        links.append(
            {
                "relation": "previous",
                "url": _link(base_url, resource_type, [*plain, ("_offset", str(max(offset - count, 0)))]),
            }
        )
    bundle["link"] = links
    if not query.summary_count and page:
        bundle["entry"] = [
            {
                "fullUrl": f"{base_url}/{resource_type}/{r.get('id')}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in page
        ]
    return bundle


def _link(base_url: str, resource_type: str, query: list[tuple[str, str]]) -> str:
    return f"{base_url}/{resource_type}" + (f"?{urlencode(query)}" if query else "")


def _matches(resource: dict[str, Any], criteria: dict[str, list[str]]) -> bool:
    for name, values in criteria.items():
        field, _, modifier = name.partition(":")
        if field.startswith("_") and field != "_id":
            continue
        key = "id" if field == "_id" else field
        actual = resource.get(key)
        if not isinstance(actual, str):
            return False
        for value in values:
            options = value.split(",")
            if field in ("name", "title"):
                if modifier == "exact":
                    ok = actual in options
                elif modifier == "contains":
                    ok = any(o.lower() in actual.lower() for o in options)
                else:
                    ok = any(actual.lower().startswith(o.lower()) for o in options)
            else:
                ok = actual in options
            if not ok:
                return False
    return True
