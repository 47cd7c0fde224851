"""Import real Synthea R4 bundles into the sandbox: time-shift, derive a Coverage, add the draft order.

The Synthea record is kept as it is (same resources, ids and references); every date moves by the
same whole number of days, so the patient has the wanted age on the order date and every interval
in the record is kept. Synthea puts payer information on Claim/ExplanationOfBenefit only, so a
Coverage is derived from the most recent EOB (falling back to the most recent Claim). The added
Encounter, Coverage and ServiceRequest get ids derived from the patient id, so importing the same
file twice gives the same bundle.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugin.dates import Age, birth_date_for
from plugin.dates import age_parts as age_on
from plugin.sandbox import codes
from plugin.sandbox.bundles import ExpectedCard, Scenario, dumps, load_bundle, set_scenario
from plugin.sandbox.timeshift import DATE_VALUE, collect_dates, shift_resource

ID_NAMESPACE = uuid.UUID("5b0e7f0e-8d5c-4c1e-9a53-0c7e2f1d9a11")
AGE_BAND_CODES = {"33951": "young", "33952": "6+"}


class BundleImportError(ValueError):
    """A bundle that cannot be imported; the message says which file and why."""


@dataclass
class Imported:
    bundle: dict[str, Any]
    scenario: Scenario
    shift_days: int
    age: Age | None


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [
        e["resource"] for e in bundle.get("entry", []) if e.get("resource", {}).get("resourceType") == kind
    ]


def _full_url(bundle: dict[str, Any], resource: dict[str, Any]) -> str:
    for entry in bundle.get("entry", []):
        if entry.get("resource") is resource and entry.get("fullUrl"):
            return entry["fullUrl"]
    return f"{resource['resourceType']}/{resource['id']}"


def latest_date(bundle: dict[str, Any]) -> dt.date:
    """The most recent full date anywhere in the record (its 'now')."""
    days = [
        dt.date.fromisoformat(value[:10])
        for _path, value in collect_dates(bundle)
        if len(value) >= 10 and DATE_VALUE.match(value)
    ]
    if not days:
        raise BundleImportError("the bundle has no dates to shift")
    return max(days)


def derive_coverage(
    bundle: dict[str, Any], patient_ref: str, coverage_id: str, order_date: dt.date
) -> dict[str, Any]:
    """A Coverage for the payer in force on the order date: the one on the latest ExplanationOfBenefit
    (else Claim) on or before that date, or the earliest one when the whole record lies after it."""
    sources = _resources(bundle, "ExplanationOfBenefit") or _resources(bundle, "Claim")
    if not sources:
        raise BundleImportError("no Claim or ExplanationOfBenefit to derive a Coverage from")

    def when(resource: dict[str, Any]) -> str:
        return (resource.get("billablePeriod", {}).get("start") or resource.get("created") or "")[:10]

    ordered = sorted(sources, key=when)
    before = [r for r in ordered if when(r) and when(r) <= order_date.isoformat()]
    chosen = before[-1] if before else ordered[0]
    display = _payer_display(chosen)
    first = next(when(r) for r in ordered if _payer_display(r) == display)
    coverage: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": coverage_id,
        "extension": [
            {
                "url": "https://fhir.cpt-plugin.org/StructureDefinition/derived-from",
                "valueString": f"{chosen['resourceType']}/{chosen['id']}",
            }
        ],
        "status": "active",
    }
    self_pay = display.lower() in ("no_insurance", "no insurance", "self-pay", "self pay")
    known = None if self_pay else _known_payer(display)
    if self_pay:
        coverage["type"] = {"coding": [codes.SELF_PAY], "text": "Self-pay"}
    else:
        kind = codes.PAYERS[known or "acme"]["type"]
        coverage["type"] = {"coding": [kind], "text": display}
    coverage["beneficiary"] = {"reference": patient_ref}
    if not self_pay:
        coverage["relationship"] = {"coding": [codes.RELATIONSHIP_SELF]}
    if first and first <= order_date.isoformat():
        coverage["period"] = {"start": first}
    if self_pay:
        coverage["payor"] = [{"reference": patient_ref, "display": "Self-pay"}]
    else:
        coverage["payor"] = [{"display": codes.PAYERS[known]["display"] if known else display}]
    return coverage


def _payer_display(resource: dict[str, Any]) -> str:
    insurer = resource.get("insurer", {}).get("display")
    if insurer:
        return str(insurer)
    for item in resource.get("insurance", []):
        display = item.get("coverage", {}).get("display")
        if display:
            return str(display)
    for contained in resource.get("contained", []):
        if contained.get("resourceType") == "Coverage":
            for payor in contained.get("payor", []):
                if payor.get("display"):
                    return str(payor["display"])
    return "unknown"


def _known_payer(display: str) -> str | None:
    lowered = display.lower()
    for needle, key in (
        ("medicare", "medicare"),
        ("aetna", "aetna"),
        ("cigna", "cigna"),
        ("united", "unitedhealthcare"),
        ("blue", "bcbs"),
    ):
        if needle in lowered:
            return key
    return None


def import_bundle(
    source: dict[str, Any],
    *,
    order_date: dt.date,
    age: Age | None = None,
    shift_to: dt.date | None = None,
    order_code: str = "33952",
    label: str = "",
) -> Imported:
    """Shift the record (to an age on `order_date`, or so it ends on `shift_to`) and add the order."""

    bundle = copy.deepcopy(source)
    patients = _resources(bundle, "Patient")
    if len(patients) != 1:
        raise BundleImportError(f"expected one Patient, found {len(patients)}")
    patient = patients[0]
    birth_text = patient.get("birthDate")
    if age is not None:
        if not birth_text or len(birth_text) != 10:
            raise BundleImportError("--age-on-order needs a full Patient.birthDate")
        birth = dt.date.fromisoformat(birth_text)
        days = (birth_date_for(age, order_date) - birth).days
    else:
        if shift_to is None:
            raise BundleImportError("give an age on the order date or a date to shift to")
        days = (shift_to - latest_date(bundle)).days
        order_date = shift_to
    shift_resource(bundle, days)

    pid = patient["id"]
    patient_ref = _full_url(bundle, patient)

    def new_id(part: str) -> str:
        return str(uuid.uuid5(ID_NAMESPACE, f"{pid}:{part}:{order_code}:{order_date.isoformat()}"))

    practitioners = _resources(bundle, "Practitioner")
    organizations = _resources(bundle, "Organization")
    coverage = derive_coverage(bundle, patient_ref, new_id("coverage"), order_date)
    start = f"{order_date.isoformat()}T09:00:00Z"
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": new_id("encounter"),
        "status": "in-progress",
        "class": codes.ENCOUNTER_CLASS["inpatient"],
        "subject": {"reference": patient_ref},
    }
    if practitioners:
        encounter["participant"] = [{"individual": {"reference": _full_url(bundle, practitioners[0])}}]
    encounter["period"] = {"start": start}
    if organizations:
        encounter["serviceProvider"] = {"reference": _full_url(bundle, organizations[0])}
    order: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": new_id("order"),
        "status": "draft",
        "intent": "order",
        "category": [{"coding": [codes.SURGICAL_PROCEDURE]}],
        "code": {
            "coding": [codes.cpt(order_code)],
            "text": codes.CPT_TEXT.get(order_code, f"CPT {order_code}"),
        },
        "quantityQuantity": {"value": 1},
        "subject": {"reference": patient_ref},
        "encounter": {"reference": f"urn:uuid:{encounter['id']}"},
        "occurrenceDateTime": order_date.isoformat(),
        "authoredOn": start,
        "locationCode": [{"coding": [codes.PLACE_OF_SERVICE["inpatient"]]}],
    }
    if practitioners:
        order["requester"] = {"reference": _full_url(bundle, practitioners[0])}
    for resource in (coverage, encounter, order):
        bundle["entry"].append(
            {
                "fullUrl": f"urn:uuid:{resource['id']}",
                "resource": resource,
                "request": {"method": "POST", "url": resource["resourceType"]},
            }
        )

    shifted_birth = patient.get("birthDate")
    actual_age = age_on(dt.date.fromisoformat(shifted_birth), order_date) if shifted_birth else None
    scenario = imported_scenario(
        patient, order, encounter, practitioners, order_code, order_date, actual_age, label
    )
    set_scenario(bundle, scenario)
    return Imported(bundle, scenario, days, actual_age)


def imported_scenario(
    patient: dict[str, Any],
    order: dict[str, Any],
    encounter: dict[str, Any],
    practitioners: list[dict[str, Any]],
    order_code: str,
    order_date: dt.date,
    age: Age | None,
    label: str,
) -> Scenario:
    """What an imported patient should get: the age-band card exactly when the code's band is wrong.

    Only the age rule is checked strictly: the rest of a Synthea record (no ICD-10 indication, a payer
    named only 'private') was not written for a scenario, so other cards are allowed.
    """
    name = patient.get("name", [{}])[0]
    who = "-".join([*name.get("given", [])[:1], name.get("family", "")]) or patient["id"][:8]
    slug = re.sub(r"[^a-z0-9]+", "-", f"imported-{who}-{label or order_date.isoformat()}".lower()).strip("-")
    expected: list[ExpectedCard] = []
    absent: list[str] = []
    band = AGE_BAND_CODES.get(order_code)
    if band and age is not None:
        wrong = (band == "6+" and age.years < 6) or (band == "young" and age.years >= 6)
        if wrong:
            expected.append(ExpectedCard("age-criteria", "warning"))
        else:
            absent.append("age-criteria")
    return Scenario(
        name=slug,
        description=f"Synthea patient {' '.join(name.get('given', [])[:1] + [name.get('family', '')])}, "
        f"{age if age else 'age unknown'} on {order_date.isoformat()}, CPT {order_code} ordered.",
        order_date=order_date.isoformat(),
        patient_id=patient["id"],
        selection=order["id"],
        encounter_id=encounter["id"],
        user_id=f"Practitioner/{practitioners[0]['id']}" if practitioners else None,
        match="includes",
        expected=expected,
        absent_topics=absent,
    )


def import_file(path: Path, out: Path, **kwargs: Any) -> tuple[Path, Imported]:
    try:
        source = load_bundle(path)
    except (OSError, ValueError) as exc:
        raise BundleImportError(f"{path}: {exc}") from exc
    try:
        result = import_bundle(source, **kwargs)
    except BundleImportError as exc:
        raise BundleImportError(f"{path}: {exc}") from exc
    out.mkdir(parents=True, exist_ok=True)
    label = kwargs.get("label") or "import"
    target = out / f"{path.stem}--{label}.json"
    target.write_text(dumps(result.bundle), encoding="utf-8", newline="\n")
    return target, result
