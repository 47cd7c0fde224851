"""Defensive readers for FHIR JSON from callers: wrong types read as absent, never raise."""

from __future__ import annotations

from typing import Any

CPT = "http://www.ama-assn.org/go/cpt"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def is_resource(value: Any, resource_type: str | None = None) -> bool:
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        return False
    return resource_type is None or value["resourceType"] == resource_type


def resources(value: Any, resource_type: str | None = None) -> list[dict[str, Any]]:
    """The resources in a searchset Bundle (match entries only) or a single resource."""
    if not isinstance(value, dict):
        return []
    own_type = value.get("resourceType")
    if own_type == "Bundle" and resource_type != "Bundle":
        entries = value.get("entry")
        found = []
        for entry in entries if isinstance(entries, list) else ():
            if not isinstance(entry, dict):
                continue
            search = entry.get("search")
            if isinstance(search, dict) and search.get("mode") == "outcome":
                continue
            resource = entry.get("resource")
            if (
                isinstance(resource, dict)
                and isinstance(kind := resource.get("resourceType"), str)
                and (resource_type is None or kind == resource_type)
            ):
                found.append(resource)
        return found
    if isinstance(own_type, str) and (resource_type is None or own_type == resource_type):
        return [value]
    return []


def outcome_messages(value: Any) -> list[str]:
    """Error/fatal issues reported in a prefetch: an OperationOutcome itself or Bundle outcome entries."""
    if not isinstance(value, dict):
        return []
    own_type = value.get("resourceType")
    if own_type == "OperationOutcome":
        outcomes: list[dict[str, Any]] = [value]
    elif own_type == "Bundle":
        outcomes = [
            resource
            for entry in as_list(value.get("entry"))
            if isinstance(entry, dict)
            and isinstance(resource := entry.get("resource"), dict)
            and resource.get("resourceType") == "OperationOutcome"
        ]
    else:
        return []
    messages = []
    for outcome in outcomes:
        for issue in as_list(outcome.get("issue")):
            issue = as_dict(issue)
            if issue.get("severity") in ("error", "fatal"):
                text = as_str(as_dict(issue.get("details")).get("text")) or as_str(issue.get("diagnostics"))
                messages.append(text or str(issue.get("code") or "error"))
    return messages


def codings(concept: Any) -> list[dict[str, Any]]:
    return [c for c in as_list(as_dict(concept).get("coding")) if isinstance(c, dict)]


def codes_in(concept: Any, system: str) -> list[str]:
    return [c["code"] for c in codings(concept) if c.get("system") == system and as_str(c.get("code"))]


def reference_of(resource: dict[str, Any]) -> str | None:
    rid = as_str(resource.get("id"))
    rtype = as_str(resource.get("resourceType"))
    return f"{rtype}/{rid}" if rid and rtype else None


def contained(resource: dict[str, Any], reference: Any) -> dict[str, Any] | None:
    """Resolve a local `#id` reference against the resource's contained resources."""
    ref = as_str(as_dict(reference).get("reference"))
    if not ref or not ref.startswith("#"):
        return None
    for item in as_list(resource.get("contained")):
        if isinstance(item, dict) and item.get("id") == ref[1:]:
            return item
    return None
