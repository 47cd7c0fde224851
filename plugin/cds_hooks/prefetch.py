"""Stage 1: resolve the prefetch (CDS Hooks 2.0, "Providing FHIR Resources to a CDS Service").

A key the client sent is used as given; `null` means known absent (a read that found nothing) and is
never re-fetched. A key the client left out, or answered with an OperationOutcome, is read from
`fhirServer` with the `fhirAuthorization` bearer token: only when the fetch policy allows that base,
only below that base (context values are URL-encoded, dot segments refused, `next` links checked),
without following redirects or using proxy settings from the environment, with a bounded response
size, a per-fetch timeout and one deadline for all fetches of the call (`limits.fetch_total_seconds`),
and at most a few pages of a searchset. Without the patient nothing can be advised, so a patient
that cannot be had is a 412; any other key that cannot be had becomes a data-quality card.
"""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from flask import Flask

from plugin.cds_hooks.fhir import as_dict, as_list, as_str, is_resource, outcome_messages, resources
from plugin.security.fetch_policy import allowed_fhir_base, current_issuer
from plugin.security.fhir_fetch import FetchError, bounded_get, is_under_base, url_under_base

REQUIRED_KEYS = frozenset({"patient"})
_ABSENT = object()  # a prefetch key the client left out (None is a key sent as null)
MAX_PAGES = 5
_TOKEN = re.compile(r"\{\{\s*([A-Za-z.]+)\s*\}\}")
_USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}


class PatientUnavailableError(Exception):
    """The patient could not be had from the prefetch or the FHIR server (HTTP 412)."""


class PrefetchMismatchError(ValueError):
    """The prefetch contradicts the context (HTTP 400); the message names the field."""


@dataclass
class Resolved:
    data: dict[str, Any] = field(default_factory=dict)
    issues: dict[str, str] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FetchSettings:
    base: str
    token: str | None
    timeout: float
    max_bytes: int
    allowed: bool
    deadline: float = float("inf")  # time.monotonic() by which every fetch of this call is over


def render_template(template: str, context: dict[str, Any]) -> str | None:
    """Fill {{context.x}} and {{userPractitionerId}}-style tokens; None when a token has no value."""
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if name.startswith("context."):
            found = as_str(context.get(name.removeprefix("context.")))
        elif name in _USER_TOKENS:
            user = as_str(context.get("userId")) or ""
            rtype, _, rid = user.partition("/")
            found = rid if rtype == _USER_TOKENS[name] and rid else None
        else:
            found = None
        if found is None:
            missing = True
            return ""
        # A context value is data, not URL syntax: "/", "?", "#" or "%" in it must not shape the query.
        return quote(found, safe="")

    rendered = _TOKEN.sub(value, template)
    return None if missing else rendered


def _get(url: str, settings: FetchSettings) -> tuple[int, Any]:
    headers = {"Accept": "application/fhir+json, application/json"}
    if settings.token:
        headers["Authorization"] = f"Bearer {settings.token}"
    stop = min(time.monotonic() + settings.timeout, settings.deadline)
    status, body = bounded_get(url, headers=headers, stop=stop, max_bytes=settings.max_bytes)
    if status >= 300:
        return status, None
    try:
        return status, json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("the response is not JSON") from exc


def _fetch(key: str, query: str, settings: FetchSettings) -> tuple[str, Any, str | None]:
    """(key, resource or None, problem or None) for one prefetch query."""
    is_read = "?" not in query
    try:
        url = url_under_base(settings.base, query)
        status, body = _get(url, settings)
    except FetchError as exc:
        if exc.kind == "timeout":
            return key, None, f"the FHIR server did not answer within {settings.timeout:g} s"
        if exc.kind == "refused":
            return key, None, f"the FHIR server could not be reached ({exc.detail})"
        if exc.kind == "too-large":
            return key, None, f"the response is larger than {settings.max_bytes} bytes"
        return key, None, f"the query was not sent: {exc.detail}"
    except ValueError as exc:
        return key, None, str(exc)
    if is_read and status in (404, 410):
        return key, None, None  # the server says it does not exist: known absent
    if status >= 300:
        return key, None, f"the FHIR server answered HTTP {status}"
    if not is_resource(body):
        return key, None, "the FHIR server's answer is not a FHIR resource"
    if is_resource(body, "OperationOutcome"):
        return (
            key,
            None,
            "the FHIR server answered with an OperationOutcome: " + "; ".join(outcome_messages(body)),
        )
    if is_resource(body, "Bundle"):
        body = _follow_pages(body, settings)
    return key, body, None


def _follow_pages(bundle: dict[str, Any], settings: FetchSettings) -> dict[str, Any]:
    """Append the entries of up to MAX_PAGES `next` pages on the same FHIR server."""
    merged = dict(bundle)
    entries = list(as_list(bundle.get("entry")))
    page = bundle
    for _ in range(MAX_PAGES - 1):
        next_url = next(
            (
                as_str(as_dict(link).get("url"))
                for link in as_list(page.get("link"))
                if as_dict(link).get("relation") == "next"
            ),
            None,
        )
        if not next_url or not is_under_base(settings.base, next_url):
            break
        try:
            status, page = _get(next_url, settings)
        except (FetchError, ValueError):
            break
        if status >= 300 or not is_resource(page, "Bundle"):
            break
        entries += as_list(page.get("entry"))
    merged["entry"] = entries
    merged.pop("link", None)
    return merged


def _unwrap_patient(value: Any) -> Any:
    """A Patient sent as a one-entry searchset is taken as the Patient."""
    if is_resource(value, "Bundle"):
        patients = resources(value, "Patient")
        return patients[0] if len(patients) == 1 else None
    return value


def resolve(app: Flask, body: dict[str, Any], prefetch_templates: dict[str, str]) -> Resolved:
    context = as_dict(body.get("context"))
    given = as_dict(body.get("prefetch"))
    base = as_str(body.get("fhirServer"))
    settings: FetchSettings | None = None  # only when something must be fetched

    def fetch_settings() -> FetchSettings:
        nonlocal settings
        if settings is None:
            limits = app.config["PLUGIN"]["limits"]
            settings = FetchSettings(
                base=base or "",
                token=as_str(as_dict(body.get("fhirAuthorization")).get("access_token")),
                timeout=float(limits["fetch_timeout_seconds"]),
                max_bytes=int(limits["fetch_max_bytes"]),
                allowed=bool(base) and allowed_fhir_base(app, base, current_issuer()),
                deadline=time.monotonic() + float(limits["fetch_total_seconds"]),
            )
        return settings

    resolved = Resolved()
    data, issues = resolved.data, resolved.issues
    to_fetch: dict[str, str] = {}
    for key, template in prefetch_templates.items():
        value = given.get(key, _ABSENT)
        if value is not _ABSENT and not (
            isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"
        ):
            if value is not None:
                reported = outcome_messages(value)
                if reported:
                    issues[key] = "the EHR reported: " + "; ".join(reported)
            data[key] = value
            continue
        reported_text = "; ".join(outcome_messages(value)) if value is not _ABSENT else ""
        query = render_template(template, context)
        if query is None:
            data[key] = None  # e.g. no encounterId: nothing to prefetch
            continue
        if not base:
            issues[key] = reported_text or "it was not prefetched and the request names no fhirServer"
        elif not fetch_settings().allowed:
            issues[key] = "it was not prefetched and this service may not fetch from that fhirServer"
        else:
            to_fetch[key] = query
    if to_fetch:
        ready = fetch_settings()
        with ThreadPoolExecutor(max_workers=len(to_fetch)) as pool:
            results = list(pool.map(lambda item: _fetch(item[0], item[1], ready), to_fetch.items()))
        for key, value, problem in results:
            resolved.fetched.append(key)
            if problem:
                issues[key] = problem
            data[key] = value
    if "patient" in data:
        data["patient"] = _unwrap_patient(data["patient"])
    for key in REQUIRED_KEYS:
        if key not in prefetch_templates:
            continue
        patient = data.get(key)
        if not is_resource(patient, "Patient"):
            reason = issues.get(key) or "the patient was not found"
            raise PatientUnavailableError(
                f"The {key} could not be obtained from the prefetch or the FHIR server: {reason}."
            )
        if as_str(patient.get("id")) and patient["id"] != context.get("patientId"):
            raise PrefetchMismatchError(
                f"prefetch.{key}.id {patient['id']!r} is not context.patientId {context.get('patientId')!r}"
            )
    return resolved
