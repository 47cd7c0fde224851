"""FHIR read and search over an in-memory set of resources: the queries the CDS prefetch templates use.

Pure functions over plain dicts, shared by the sandbox FHIR server (/sandbox/fhir) and by replay,
which fills prefetch templates from a bundle with the very same answers the server would give.
Supported: `_id` on every type, plus per type the parameters below (token: `code`, `system|code`,
`|code`; reference: `id`, `Type/id` or an absolute URL ending in `Type/id`; string: starts-with,
case-insensitive), comma for OR, `_count`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from plugin.operation_outcome import OperationOutcomeError, bad_request, not_found

Resource = dict[str, Any]
Extractor = Callable[[Resource], list[Any]]


def _tokens_cc(*fields: str) -> Extractor:
    """Token values of CodeableConcept (or Coding, or code) elements."""

    def extract(resource: Resource) -> list[tuple[str | None, str]]:
        values: list[tuple[str | None, str]] = []
        for name in fields:
            item = resource.get(name)
            for element in item if isinstance(item, list) else [item]:
                if isinstance(element, str):
                    values.append((None, element))
                elif isinstance(element, dict):
                    codings = element.get("coding", [element] if "code" in element else [])
                    values.extend((c.get("system"), c["code"]) for c in codings if "code" in c)
        return values

    return extract


def _identifiers(resource: Resource) -> list[tuple[str | None, str]]:
    return [(i.get("system"), i["value"]) for i in resource.get("identifier", []) if "value" in i]


def _refs(*fields: str) -> Extractor:
    def extract(resource: Resource) -> list[str]:
        found: list[str] = []
        for name in fields:
            item = resource.get(name)
            elements = item if isinstance(item, list) else [item]
            found.extend(e["reference"] for e in elements if isinstance(e, dict) and "reference" in e)
        return found

    return extract


def _names(resource: Resource) -> list[str]:
    names: list[str] = []
    for name in resource.get("name", []) if isinstance(resource.get("name"), list) else []:
        names.extend([*name.get("given", []), name.get("family", ""), name.get("text", "")])
    if isinstance(resource.get("name"), str):
        names.append(resource["name"])
    return [n for n in names if n]


SEARCH_PARAMS: dict[str, dict[str, tuple[str, Extractor]]] = {
    "Patient": {
        "identifier": ("token", _identifiers),
        "name": ("string", _names),
        "gender": ("token", _tokens_cc("gender")),
    },
    "Coverage": {
        "patient": ("reference", _refs("beneficiary")),
        "beneficiary": ("reference", _refs("beneficiary")),
        "status": ("token", _tokens_cc("status")),
        "payor": ("reference", _refs("payor")),
    },
    "Encounter": {
        "patient": ("reference", _refs("subject")),
        "subject": ("reference", _refs("subject")),
        "status": ("token", _tokens_cc("status")),
        "class": ("token", _tokens_cc("class")),
    },
    "Condition": {
        "patient": ("reference", _refs("subject")),
        "subject": ("reference", _refs("subject")),
        "clinical-status": ("token", _tokens_cc("clinicalStatus")),
        "code": ("token", _tokens_cc("code")),
        "encounter": ("reference", _refs("encounter")),
    },
    "Consent": {
        "patient": ("reference", _refs("patient")),
        "status": ("token", _tokens_cc("status")),
    },
    "ServiceRequest": {
        "patient": ("reference", _refs("subject")),
        "subject": ("reference", _refs("subject")),
        "status": ("token", _tokens_cc("status")),
        "intent": ("token", _tokens_cc("intent")),
        "code": ("token", _tokens_cc("code")),
        "encounter": ("reference", _refs("encounter")),
    },
    "Practitioner": {
        "identifier": ("token", _identifiers),
        "name": ("string", _names),
    },
    "Organization": {
        "identifier": ("token", _identifiers),
        "name": ("string", _names),
    },
    "Location": {"name": ("string", _names)},
}
RESULT_PARAMS = {"_count", "_format", "_pretty"}
# Which reference parameters default to which target type when given a bare id.
PATIENT_PARAMS = {"patient", "subject", "beneficiary"}


class Index:
    """Resources by type and id, in load order."""

    def __init__(self, resources: Iterable[Resource] = ()) -> None:
        self.by_type: dict[str, dict[str, Resource]] = {}
        for resource in resources:
            self.add(resource)

    def add(self, resource: Resource) -> bool:
        """Add one resource; False (and nothing changed) when its type/id is already held."""
        bucket = self.by_type.setdefault(resource["resourceType"], {})
        if resource.get("id") in bucket:
            return False
        bucket[resource["id"]] = resource
        return True

    def read(self, kind: str, rid: str) -> Resource:
        resource = self.by_type.get(kind, {}).get(rid)
        if resource is None:
            raise not_found(f"Resource {kind}/{rid} is not known")
        return resource

    def search(self, kind: str, params: list[tuple[str, str]]) -> list[Resource]:
        if kind not in SEARCH_PARAMS:
            raise OperationOutcomeError.simple(
                404, f"Resource type {kind!r} is not supported here", "not-supported"
            )
        supported = SEARCH_PARAMS[kind]
        candidates = list(self.by_type.get(kind, {}).values())
        count: int | None = None
        for name, value in params:
            if name in RESULT_PARAMS:
                if name == "_count":
                    count = _count(value)
                continue
            if ":" in name:
                raise bad_request(
                    f"Search modifiers are not supported (parameter {name!r})", expression=[name]
                )
            if name == "_id":
                wanted = set(value.split(","))
                candidates = [r for r in candidates if r.get("id") in wanted]
                continue
            if name not in supported:
                known = ", ".join(["_id", *sorted(supported)])
                raise bad_request(
                    f"Unknown search parameter {name!r} for resource type {kind}; supported: {known}",
                    expression=[name],
                )
            kind_of, extract = supported[name]
            alternatives = [v for v in value.split(",") if v]
            if not alternatives:
                raise bad_request(f"Search parameter {name!r} has no value", expression=[name])
            candidates = [r for r in candidates if _matches(kind_of, name, extract(r), alternatives)]
        return candidates[:count] if count is not None else candidates


def _count(value: str) -> int:
    message = f"_count must be a non-negative integer, not {value!r}"
    try:
        number = int(value)
    except ValueError as exc:
        raise bad_request(message, expression=["_count"]) from exc
    if number < 0:
        raise bad_request(message, expression=["_count"])
    return number


def _matches(kind_of: str, name: str, values: list[Any], alternatives: list[str]) -> bool:
    for wanted in alternatives:
        if kind_of == "token":
            system, _, code = wanted.rpartition("|")
            has_system = "|" in wanted
            for value_system, value_code in values:
                if value_code == code and (not has_system or (value_system or "") == system):
                    return True
        elif kind_of == "reference":
            target = _reference_target(wanted, name)
            if any(_reference_target(v, name) == target for v in values):
                return True
        elif kind_of == "string" and any(str(v).lower().startswith(wanted.lower()) for v in values):
            return True
    return False


def _reference_target(value: str, name: str) -> str:
    """Normalise 'x', 'Patient/x' and 'http://host/fhir/Patient/x' to 'Patient/x'."""
    parts = value.rstrip("/").split("/")
    if len(parts) >= 2:
        return f"{parts[-2]}/{parts[-1]}"
    return f"Patient/{value}" if name in PATIENT_PARAMS else value


def searchset(resources: list[Resource], base: str, self_link: str) -> Resource:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": self_link}],
        "entry": [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def run_query(index: Index, query: str, base: str) -> Resource:
    """Answer a relative FHIR query such as 'Patient/1' or 'Coverage?patient=1&status=active'."""
    parts = urlsplit(query)
    path = parts.path.strip("/")
    segments = path.split("/")
    if len(segments) == 2 and not parts.query:
        return index.read(segments[0], segments[1])
    if len(segments) == 1 and segments[0]:
        params = parse_qsl(parts.query, keep_blank_values=True)
        return searchset(index.search(segments[0], params), base, f"{base}/{query}")
    raise bad_request(f"Cannot answer the query {query!r}")
