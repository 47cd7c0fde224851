"""Build CDS Hooks order-select / order-sign requests from a sandbox patient, as an EHR would.

Prefetch is filled from the service's own templates (taken from discovery) by running each query
against the patient's resources with the same search code /sandbox/fhir uses, so a request with
prefetch and one without (where the service fetches from `fhirServer`) see the same data.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

from plugin.dates import Age, age_parts, birth_date_for
from plugin.dates import age_parts_range as age_range
from plugin.operation_outcome import OperationOutcomeError
from plugin.sandbox.bundles import ExpectedCard, server_view
from plugin.sandbox.scenario_dates import birth_for, expected_cards
from plugin.sandbox.scenarios import SPECS
from plugin.sandbox.search import Index, run_query
from plugin.sandbox.store import PatientRecord
from plugin.sandbox.timeshift import shift_resource

# The contract's templates, used when discovery cannot be read.
CONTRACT_PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "coverage": "Coverage?patient={{context.patientId}}&status=active",
    "encounter": "Encounter/{{context.encounterId}}",
    "conditions": "Condition?patient={{context.patientId}}&clinical-status=active",
    "consents": "Consent?patient={{context.patientId}}&status=active",
}
CONTRACT_SERVICES = {
    "order-select": "ecmo-cannulation-order-select",
    "order-sign": "ecmo-cannulation-order-sign",
}
SPECS_BY_NAME = {spec.name: spec for spec in SPECS}
SYNTHETIC_SOURCE = "synthetic"
TOKEN = re.compile(r"\{\{\s*context\.(\w+)\s*\}\}")


def fill_template(template: str, context: dict[str, Any]) -> str | None:
    """Replace {{context.x}} tokens; None when a token has no value (the key is then left out)."""
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        value = context.get(match.group(1))
        if not isinstance(value, str) or not value:
            missing = True
            return ""
        return value

    filled = TOKEN.sub(replace, template)
    return None if missing else filled


def build_prefetch(
    resources: list[dict[str, Any]], templates: dict[str, str], context: dict[str, Any], fhir_base: str
) -> dict[str, Any]:
    index = Index(resources)
    prefetch: dict[str, Any] = {}
    for key, template in templates.items():
        query = fill_template(template, context)
        if query is None:
            continue
        try:
            prefetch[key] = run_query(index, query, fhir_base)
        except OperationOutcomeError:
            # Not found or not answerable here: leave the key out, as CDS Hooks asks of a client.
            continue
    return prefetch


@dataclass(frozen=True)
class ShiftedRecord:
    """A record moved so its order falls on another date, and the cards it should get there."""

    resources: list[dict[str, Any]]
    days: int
    expected: list[ExpectedCard]


def shift_record(record: PatientRecord, to: dt.date) -> ShiftedRecord:
    """The record's resources moved so the order falls on `to`, the patient keeping what makes the scenario.

    Everything moves by the same number of days as the order, so the history keeps its order. The
    birth date is then set from the scenario's definition on `to` (scenario_dates.py): a synthetic
    scenario keeps its meaning ("the day before the 6th birthday") on any date, and any other record
    with a full birth date keeps its age in years, months and days (or the youngest older age, where
    that age does not exist on `to`). A scenario's expected cards are worked out again for `to`.
    """
    order_date = dt.date.fromisoformat(record.scenario.order_date)
    days = (to - order_date).days
    bundle = shift_resource(copy.deepcopy(record.bundle), days)
    entries = [e.get("resource", {}) for e in bundle.get("entry", [])]
    patient = next((r for r in entries if r.get("resourceType") == "Patient"), None)
    old_birth = (record.resource("Patient") or {}).get("birthDate", "")
    spec = SPECS_BY_NAME.get(record.scenario.name) if record.source == SYNTHETIC_SOURCE else None
    expected = list(record.scenario.expected)
    if spec is not None:
        if spec.birth == "exact":
            age = age_parts(dt.date.fromisoformat(old_birth), order_date)
            birth = birth_for(spec.birth, to, age)
        elif spec.birth == "adult-partial-year":
            birth = patient.get("birthDate") if patient else None  # a year moved with the record
        else:
            birth = birth_for(spec.birth, to)
        if patient is not None and birth is not None:
            patient["birthDate"] = birth
        expected = expected_cards(spec, birth, to)
    elif patient is not None and len(old_birth) == 10:
        age = age_parts(dt.date.fromisoformat(old_birth), order_date)
        patient["birthDate"] = birth_date_for(age, to).isoformat()
    return ShiftedRecord(server_view(bundle), days, expected)


def expected_on(record: PatientRecord, on: dt.date) -> list[ExpectedCard]:
    """A record's expected cards for an order on another date, its birth date unchanged."""
    spec = SPECS_BY_NAME.get(record.scenario.name) if record.source == SYNTHETIC_SOURCE else None
    if spec is None:
        return list(record.scenario.expected)
    return expected_cards(spec, (record.resource("Patient") or {}).get("birthDate"), on)


def describe_age(birth_date: str | None, on: dt.date) -> dict[str, Any]:
    """Age on a date for display: exact when the birth date is full, a range when it is partial."""
    if not birth_date:
        return {"text": "unknown (no birth date)", "years": None, "decided": False}
    low, high = age_range(birth_date, on)
    if low == high or len(birth_date) == 10:
        return {"text": _age_text(low), "years": low.years, "decided": True}
    decided = low.years == high.years
    text = f"{_age_text(low)} to {_age_text(high)} (birth date {birth_date})"
    return {"text": text, "years": low.years if decided else None, "decided": decided}


def _age_text(age: Age) -> str:
    parts = [f"{age.years} y"]
    if age.months:
        parts.append(f"{age.months} m")
    if age.days:
        parts.append(f"{age.days} d")
    return " ".join(parts)


def build_request(
    record: PatientRecord,
    hook: str,
    fhir_base: str,
    templates: dict[str, str] | None,
    *,
    resources: list[dict[str, Any]] | None = None,
    order_date: str | None = None,
    omit_prefetch: bool = False,
    hook_instance: str | None = None,
) -> dict[str, Any]:
    """A CDS Hooks request for the record's draft orders (on `order_date`, default the scenario's)."""
    if hook not in CONTRACT_SERVICES:
        raise ValueError(f"hook {hook!r} is not one of {', '.join(CONTRACT_SERVICES)}")
    resources = resources if resources is not None else record.resources
    scenario = record.scenario
    drafts = [r for r in resources if r["resourceType"] == "ServiceRequest" and r.get("status") == "draft"]
    when = order_date or scenario.order_date
    orders = []
    for draft in drafts:
        order = copy.deepcopy(draft)
        order["occurrenceDateTime"] = when
        orders.append(order)
    context: dict[str, Any] = {
        "userId": scenario.user_id or "Practitioner/sandbox-user",
        "patientId": scenario.patient_id,
    }
    if scenario.encounter_id:
        context["encounterId"] = scenario.encounter_id
    if hook == "order-select":
        context["selections"] = [f"ServiceRequest/{scenario.selection}"]
    context["draftOrders"] = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": order} for order in orders],
    }
    body: dict[str, Any] = {
        "hookInstance": hook_instance or str(uuid.uuid4()),
        "hook": hook,
        "fhirServer": fhir_base,
        "context": context,
    }
    if not omit_prefetch:
        body["prefetch"] = build_prefetch(resources, templates or CONTRACT_PREFETCH, context, fhir_base)
    return body
