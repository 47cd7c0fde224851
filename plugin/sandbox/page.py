"""/sandbox: the page where people pick a patient, edit the draft order, fire a hook and see cards.

The page is server-rendered; sandbox.js calls the CDS service from the browser (same origin), as an
EHR would. The JSON API here only builds requests from the sandbox patients, with the same builder
replay uses, so the page and replay send the same thing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, current_app, render_template, request

from plugin import clock
from plugin.config import development_mode
from plugin.dates import parse_fhir_date
from plugin.http import json_response
from plugin.sandbox import codes
from plugin.sandbox.hookrequest import (
    CONTRACT_PREFETCH,
    build_request,
    describe_age,
    expected_on,
    shift_record,
)
from plugin.sandbox.store import PatientRecord, get_sandbox_store

bp = Blueprint(
    "sandbox",
    __name__,
    url_prefix="/sandbox",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

ORDER_CODES = ["33951", "33952", "33953", "33954", "33957", "33958", "33987", "76000", "77001", "76937"]
CONCURRENT_CODES = ["76000", "77001", "33987", "33958", "76937"]


def _error(status: int, code: str, message: str) -> Any:
    return json_response({"error": code, "message": message}, status)


@bp.get("/")
def index() -> Any:
    store = get_sandbox_store()
    groups: dict[str, list[PatientRecord]] = {}
    for record in store.records.values():
        groups.setdefault(record.source, []).append(record)
    settings = current_app.config["PLUGIN"]
    public = settings["server"]["public_base_url"]
    return render_template(
        "sandbox/index.html",
        groups=groups,
        order_codes=[(c, codes.CPT_TEXT.get(c, "")) for c in ORDER_CODES],
        concurrent_codes=[(c, codes.CPT_TEXT.get(c, "")) for c in CONCURRENT_CODES],
        problems=store.problems,
        # A token field only where the service verifies tokens; in development mode none is needed.
        token_field=not development_mode(settings),
        jwt_required=bool(settings["security"]["require_jwt"]),
        # The JWT `aud` must be the URL called, as the service sees it (public_base_url when set).
        cds_base=(public.rstrip("/") if public else request.host_url.rstrip("/")) + "/cds-services",
    )


@bp.get("/api/patients")
def patients() -> Any:
    store = get_sandbox_store()
    return json_response(
        {
            "patients": [
                {"source": r.source, "patientId": r.scenario.patient_id, **r.scenario.summary()}
                for r in store.records.values()
            ]
        }
    )


@bp.post("/api/request")
def build() -> Any:
    """Body: {scenario, hook, templates?, shiftToToday?, orderDate?, omitPrefetch?} -> request + summary."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "invalid-json", "the body must be a JSON object")
    record = get_sandbox_store().records.get(str(body.get("scenario", "")))
    if record is None:
        return _error(404, "unknown-scenario", f"no sandbox patient for scenario {body.get('scenario')!r}")
    hook = body.get("hook", "order-sign")
    if hook not in ("order-select", "order-sign"):
        return _error(400, "invalid-hook", "hook must be order-select or order-sign")
    templates = body.get("templates")
    if templates is not None and not (
        isinstance(templates, dict) and all(isinstance(v, str) for v in templates.values())
    ):
        return _error(400, "invalid-templates", "templates must map prefetch keys to query strings")
    resources = record.resources
    order_date = record.scenario.order_date
    expected = record.scenario.expected
    shift_days = 0
    if body.get("shiftToToday"):
        today = clock.today()
        try:
            shifted = shift_record(record, today)
        except ValueError as exc:  # only on a date before the calendar can hold the patient
            return _error(400, "invalid-date", f"cannot place this patient on {today}: {exc}")
        resources, shift_days, expected = shifted.resources, shifted.days, shifted.expected
        order_date = today.isoformat()
    elif body.get("orderDate"):
        found = parse_fhir_date(body["orderDate"], allow_time=False)
        if found is None or not found.precise:
            return _error(400, "invalid-date", "orderDate must be a full date like 2026-11-25")
        day = found.low
        order_date = day.isoformat()
        expected = expected_on(record, day)
    try:
        patient = _patient_summary(resources, record, order_date)
    except ValueError as exc:  # e.g. an orderDate before the patient's birth date
        return _error(400, "invalid-date", f"orderDate: {exc}")
    fhir_base = request.host_url.rstrip("/") + "/sandbox/fhir"
    hook_request = build_request(
        record,
        hook,
        fhir_base,
        templates or CONTRACT_PREFETCH,
        resources=resources,
        order_date=order_date,
        omit_prefetch=bool(body.get("omitPrefetch")),
    )
    return json_response(
        {
            "scenario": {**record.scenario.summary(), "expectedCards": [c.as_dict() for c in expected]},
            "source": record.source,
            "selection": record.scenario.selection,
            "shiftDays": shift_days,
            "orderDate": order_date,
            "patient": patient,
            "request": hook_request,
        }
    )


def _patient_summary(
    resources: list[dict[str, Any]], record: PatientRecord, order_date: str
) -> dict[str, Any]:
    def of(kind: str) -> list[dict[str, Any]]:
        return [r for r in resources if r["resourceType"] == kind]

    patient = next(iter(of("Patient")), {})
    name = (patient.get("name") or [{}])[0]
    birth = patient.get("birthDate")
    coverage = next(iter(of("Coverage")), {})
    payor = ", ".join(p.get("display", "") for p in coverage.get("payor", [])) or "none"
    conditions = [
        f"{c['code'].get('text') or c['code']['coding'][0].get('code')} "
        f"({(c.get('clinicalStatus') or {}).get('coding', [{}])[0].get('code', '?')})"
        for c in of("Condition")
        if c.get("code")
    ]
    consents = [c for c in of("Consent") if c.get("status") == "active"]
    encounter = next((e for e in of("Encounter") if e.get("id") == record.scenario.encounter_id), {})
    setting = encounter.get("class") or {}
    return {
        "name": " ".join([*name.get("given", []), name.get("family", "")]).strip() or patient.get("id"),
        "gender": patient.get("gender", "unknown"),
        "birthDate": birth,
        "deceased": patient.get("deceasedDateTime") or patient.get("deceasedBoolean") or None,
        "age": describe_age(birth, dt.date.fromisoformat(order_date)),
        "payer": payor,
        "conditions": conditions[:8],
        "consent": "active consent on record" if consents else "no active consent",
        "setting": setting.get("display") or setting.get("code"),
    }
