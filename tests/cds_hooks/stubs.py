"""Named CDS Hooks request stubs: build the FHIR resources a scenario needs, nothing more.

Each builder returns a fresh dict, so a test can change its copy. The clinical facts each scenario
relies on are spelled out in the builder arguments (birth date, CPT code, occurrence, payer, POS).
"""

from __future__ import annotations

from typing import Any

CPT = "http://www.ama-assn.org/go/cpt"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
ORDER_SELECT = "ecmo-cannulation-order-select"
ORDER_SIGN = "ecmo-cannulation-order-sign"
APPOINTMENT_BOOK = "ecmo-cannulation-appointment-book"
PATIENT_ID = "pat-1"
HOOK_INSTANCE = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"


def patient(birth_date: str | None = "1986-03-14", patient_id: str = PATIENT_ID) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": patient_id, "name": [{"family": "Example"}]}
    if birth_date is not None:
        resource["birthDate"] = birth_date
    return resource


def service_request(
    order_id: str,
    code: str,
    *,
    occurrence: str | None = "2026-11-20",
    period_start: str | None = None,
    authored_on: str | None = None,
    quantity: float | None = None,
    priority: str | None = None,
    reason: bool = False,
    body_site: bool = False,
    pos: str | None = None,
    text: str | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": order_id,
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{"system": CPT, "code": code}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
    }
    if text:
        resource["code"]["text"] = text
    if occurrence is not None:
        resource["occurrenceDateTime"] = occurrence
    if period_start is not None:
        resource["occurrencePeriod"] = {"start": period_start}
    if authored_on is not None:
        resource["authoredOn"] = authored_on
    if quantity is not None:
        resource["quantityQuantity"] = {"value": quantity}
    if priority is not None:
        resource["priority"] = priority
    if reason:
        resource["reasonCode"] = [
            {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J96.01"}]}
        ]
    if body_site:
        resource["bodySite"] = [{"text": "right femoral vein"}]
    if pos is not None:
        resource["locationCode"] = [{"coding": [{"system": POS, "code": pos}]}]
    return resource


def appointment(appointment_id: str, code: str, start: str = "2026-12-01T08:00:00-05:00") -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "id": appointment_id,
        "status": "proposed",
        "serviceType": [{"coding": [{"system": CPT, "code": code}]}],
        "start": start,
        "participant": [{"actor": {"reference": f"Patient/{PATIENT_ID}"}, "status": "accepted"}],
    }


def coverage(payor_display: str, coverage_id: str = "cov-1") -> dict[str, Any]:
    return {
        "resourceType": "Coverage",
        "id": coverage_id,
        "status": "active",
        "beneficiary": {"reference": f"Patient/{PATIENT_ID}"},
        "payor": [{"display": payor_display}],
    }


def encounter(class_code: str = "IMP", pos: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": "enc-1",
        "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": class_code},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
    }
    if pos is not None:
        resource["contained"] = [
            {"resourceType": "Location", "id": "loc", "type": [{"coding": [{"system": POS, "code": pos}]}]}
        ]
        resource["location"] = [{"location": {"reference": "#loc"}}]
    return resource


def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }


def collection(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def prefetch(
    *,
    birth_date: str | None = "1986-03-14",
    payer: str | None = None,
    encounter_resource: dict[str, Any] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    consents: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "patient": patient(birth_date),
        "coverage": searchset(coverage(payer)) if payer else searchset(),
        "encounter": encounter_resource,
        "conditions": searchset(*(conditions or [])),
        "consents": searchset(*(consents or [])),
    }


def order_sign(orders: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    return _request("order-sign", {"draftOrders": collection(*orders)}, **kwargs)


def order_select(orders: list[dict[str, Any]], selections: list[str], **kwargs: Any) -> dict[str, Any]:
    return _request("order-select", {"selections": selections, "draftOrders": collection(*orders)}, **kwargs)


def appointment_book(appointments: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    return _request("appointment-book", {"appointments": collection(*appointments)}, **kwargs)


def _request(
    hook: str,
    context_extra: dict[str, Any],
    *,
    prefetch_data: dict[str, Any] | None = None,
    encounter_id: str | None = "enc-1",
    fhir_server: str | None = None,
    token: str | None = None,
    **prefetch_kwargs: Any,
) -> dict[str, Any]:
    context: dict[str, Any] = {"userId": "Practitioner/dr-1", "patientId": PATIENT_ID}
    if encounter_id:
        context["encounterId"] = encounter_id
    context.update(context_extra)
    body: dict[str, Any] = {"hook": hook, "hookInstance": HOOK_INSTANCE, "context": context}
    if fhir_server:
        body["fhirServer"] = fhir_server
    if token:
        body["fhirAuthorization"] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/Patient.read user/Coverage.read",
            "subject": "cpt-plugin",
        }
    pre = prefetch(**prefetch_kwargs) if prefetch_data is None else prefetch_data
    if pre:
        body["prefetch"] = pre
    return body


def cards_of(
    response: dict[str, Any], topic: str | None = None, rule: str | None = None
) -> list[dict[str, Any]]:
    cards = response["cards"]
    if topic:
        cards = [c for c in cards if c["source"]["topic"]["code"] == topic]
    if rule:
        cards = [c for c in cards if c["extension"]["org.cpt-plugin.rule"]["id"] == rule]
    return cards
