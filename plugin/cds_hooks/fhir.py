"""Defensive readers for FHIR JSON from callers: wrong types read as absent, never raise."""

from __future__ import annotations

from collections.abc import Iterator
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


def resources(value: Any, resource_type: str | None = None) -> Iterator[dict[str, Any]]:
    """The resources in a searchset Bundle (match entries only) or a single resource."""
    if is_resource(value, "Bundle") and resource_type != "Bundle":
        for entry in as_list(value.get("entry")):
            entry = as_dict(entry)
            if as_dict(entry.get("search")).get("mode") == "outcome":
                continue
            resource = entry.get("resource")
            if is_resource(resource, resource_type):
                yield resource
    elif is_resource(value, resource_type):
        yield value


def outcome_messages(value: Any) -> list[str]:
    """Error/fatal issues reported in a prefetch: an OperationOutcome itself or Bundle outcome entries."""
    outcomes: list[dict[str, Any]] = []
    if is_resource(value, "OperationOutcome"):
        outcomes.append(value)
    elif is_resource(value, "Bundle"):
        for entry in as_list(value.get("entry")):
            resource = as_dict(entry).get("resource")
            if is_resource(resource, "OperationOutcome"):
                outcomes.append(resource)
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


def text_of(concept: Any) -> str:
    """All human text of a CodeableConcept (text and coding displays), for pattern checks."""
    concept = as_dict(concept)
    parts = [as_str(concept.get("text")) or ""]
    parts += [as_str(c.get("display")) or "" for c in codings(concept)]
    return " ".join(p for p in parts if p)
