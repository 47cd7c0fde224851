"""Deterministic synthetic patients: seed + as-of date -> one FHIR R4 transaction Bundle per scenario.

Nothing here reads the clock or the OS's randomness: every id, name and time comes from a
`random.Random` seeded with the seed and the scenario name, so the same seed and as-of date give
byte-identical files, and adding a scenario does not change the others.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from pathlib import Path
from typing import Any

from plugin.dates import Age
from plugin.dates import age_parts as age_on
from plugin.sandbox import codes
from plugin.sandbox.bundles import Scenario, dumps, set_scenario
from plugin.sandbox.scenario_dates import expected_cards, scenario_dates
from plugin.sandbox.scenarios import SPECS, Spec

GIVEN = {
    "female": [
        "Ava",
        "Maya",
        "Lena",
        "Rosa",
        "Nora",
        "Iris",
        "Clara",
        "Zoe",
        "Hana",
        "Elena",
        "Mira",
        "June",
    ],
    "male": [
        "Liam",
        "Omar",
        "Theo",
        "Jonah",
        "Felix",
        "Mateo",
        "Arlo",
        "Ravi",
        "Hugo",
        "Eli",
        "Tomas",
        "Kai",
    ],
}
FAMILY = [
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Alvarez",
    "Brennan",
    "Kowalski",
    "Haddad",
    "Nguyen",
    "Fischer",
    "Castillo",
    "Osei",
    "Petrov",
    "Sato",
    "Quinn",
    "Marsh",
    "Ibarra",
    "Holm",
    "Vance",
    "Reyes",
]
CITIES = [
    ("Worcester", "MA", "01608"),
    ("Springfield", "MA", "01103"),
    ("Lowell", "MA", "01852"),
    ("Providence", "RI", "02903"),
    ("Hartford", "CT", "06103"),
]


class Ids:
    """uuid-shaped ids drawn from the scenario's generator (never uuid4: output must repeat)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def new(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def entry(resource: dict[str, Any]) -> dict[str, Any]:
    kind, rid = resource["resourceType"], resource["id"]
    return {
        "fullUrl": f"urn:uuid:{rid}",
        "resource": resource,
        "request": {"method": "PUT", "url": f"{kind}/{rid}"},
    }


def ref(resource: dict[str, Any], display: str | None = None) -> dict[str, Any]:
    reference: dict[str, Any] = {"reference": f"urn:uuid:{resource['id']}"}
    if display:
        reference["display"] = display
    return reference


def build_scenario(spec: Spec, seed: int, as_of: dt.date) -> dict[str, Any]:
    rng = random.Random(f"cpt-plugin-synth:{seed}:{spec.name}")
    ids = Ids(rng)
    order_date, birth_date = scenario_dates(spec, as_of, rng)
    clock = f"T{rng.randint(6, 20):02d}:{rng.choice([0, 10, 15, 20, 30, 40, 45, 50]):02d}:00Z"
    start = order_date.isoformat() + clock

    gender = rng.choice(["female", "male"])
    given, family = rng.choice(GIVEN[gender]), rng.choice(FAMILY)
    city, state, postal = rng.choice(CITIES)
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": ids.new(),
        "identifier": [
            {
                "type": {"coding": [codes.MR], "text": "Medical Record Number"},
                "system": codes.SANDBOX_MRN,
                "value": f"SBX{rng.randint(100000, 999999)}",
            }
        ],
        "active": True,
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": gender,
    }
    if birth_date is None:
        patient["_birthDate"] = {"extension": [codes.DATA_ABSENT_UNKNOWN]}
    else:
        patient["birthDate"] = birth_date
    patient["address"] = [
        {
            "line": [f"{rng.randint(1, 399)} {rng.choice(FAMILY)} Street"],
            "city": city,
            "state": state,
            "postalCode": postal,
            "country": "US",
        }
    ]

    payer_info = codes.PAYERS[spec.payer]
    payer = {
        "resourceType": "Organization",
        "id": ids.new(),
        "identifier": [{"system": codes.SANDBOX_PAYER_ID, "value": spec.payer}],
        "active": True,
        "type": [{"coding": [codes.ORG_PAYER]}],
        "name": payer_info["name"],
    }
    hospital = {
        "resourceType": "Organization",
        "id": ids.new(),
        "active": True,
        "type": [{"coding": [codes.ORG_PROVIDER]}],
        "name": f"{city} General Hospital" if spec.setting != "office" else f"{city} Heart and Lung Clinic",
        "address": [{"city": city, "state": state, "postalCode": postal, "country": "US"}],
    }
    practitioner = {
        "resourceType": "Practitioner",
        "id": ids.new(),
        "identifier": [{"system": codes.NPI, "value": codes.npi(rng)}],
        "active": True,
        "name": [
            {
                "family": rng.choice(FAMILY),
                "given": [rng.choice(GIVEN[rng.choice(["female", "male"])])],
                "prefix": ["Dr."],
            }
        ],
    }
    coverage = {
        "resourceType": "Coverage",
        "id": ids.new(),
        "identifier": [{"system": codes.SANDBOX_MEMBER_ID, "value": f"M{rng.randint(10**8, 10**9 - 1)}"}],
        "status": "active",
        "type": {"coding": [payer_info["type"]]},
        "subscriberId": f"M{rng.randint(10**8, 10**9 - 1)}",
        "beneficiary": ref(patient),
        "relationship": {"coding": [codes.RELATIONSHIP_SELF]},
        "period": {"start": f"{order_date.year}-01-01"},
        "payor": [ref(payer, payer_info["display"])],
        "class": [
            {
                "type": {"coding": [codes.COVERAGE_CLASS_PLAN]},
                "value": payer_info["plan"],
                "name": payer_info["plan"],
            }
        ],
    }
    encounter_class = codes.ENCOUNTER_CLASS[spec.setting]
    encounter = {
        "resourceType": "Encounter",
        "id": ids.new(),
        "status": "in-progress",
        "class": encounter_class,
        "subject": ref(patient),
        "participant": [{"individual": ref(practitioner)}],
        "period": {"start": start},
        "serviceProvider": ref(hospital),
    }
    resources: list[dict[str, Any]] = [patient, payer, hospital, practitioner, coverage, encounter]

    onset = (order_date - dt.timedelta(days=rng.randint(0, 3))).isoformat() + clock
    indication: dict[str, Any] | None = None
    if spec.indication:
        code, title = rng.choice(codes.INDICATIONS)
        indication = condition(ids.new(), patient, encounter, code, title, "active", onset)
        resources.append(indication)
    else:
        earlier = (order_date - dt.timedelta(days=rng.randint(40, 400))).isoformat() + clock
        resources.append(
            condition(
                ids.new(), patient, None, "J18.9", "Pneumonia, unspecified organism", "resolved", earlier
            )
        )
    if spec.consent:
        resources.append(
            {
                "resourceType": "Consent",
                "id": ids.new(),
                "status": "active",
                "scope": {"coding": [codes.CONSENT_SCOPE_TREATMENT]},
                "category": [{"coding": [codes.CONSENT_CATEGORY]}],
                "patient": ref(patient),
                "dateTime": start,
                "organization": [ref(hospital)],
                "policyRule": {"coding": [codes.OPT_IN]},
                "provision": {
                    "type": "permit",
                    "period": {"start": order_date.isoformat()},
                    "code": [{"coding": [codes.cpt(spec.code)]}],
                },
            }
        )

    orders = [
        draft_order(
            ids.new(),
            spec.code,
            spec.quantity,
            patient,
            encounter,
            practitioner,
            indication,
            order_date,
            start,
            spec.setting,
        )
    ]
    orders.extend(
        draft_order(
            ids.new(), other, 1, patient, encounter, practitioner, indication, order_date, start, spec.setting
        )
        for other in spec.concurrent
    )
    resources.extend(orders)

    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": ids.new(),
        "meta": {},
        "type": "transaction",
        "entry": [entry(r) for r in resources],
    }
    set_scenario(
        bundle,
        Scenario(
            name=spec.name,
            description=spec.description,
            order_date=order_date.isoformat(),
            patient_id=patient["id"],
            selection=orders[0]["id"],
            encounter_id=encounter["id"],
            user_id=f"Practitioner/{practitioner['id']}",
            expected=expected_cards(spec, birth_date, order_date),
        ),
    )
    return bundle


def condition(
    cid: str,
    patient: dict[str, Any],
    encounter: dict[str, Any] | None,
    code: str,
    title: str,
    status: str,
    onset: str,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {"coding": [{"system": codes.CONDITION_CLINICAL, "code": status}]},
        "verificationStatus": {"coding": [{"system": codes.CONDITION_VERIFICATION, "code": "confirmed"}]},
        "category": [{"coding": [codes.ENCOUNTER_DIAGNOSIS]}],
        "code": {"coding": [{"system": codes.ICD10CM, "code": code, "display": title}], "text": title},
        "subject": ref(patient),
    }
    if encounter is not None:
        resource["encounter"] = ref(encounter)
    resource["onsetDateTime"] = onset
    if status == "resolved":
        resource["abatementDateTime"] = onset
    resource["recordedDate"] = onset
    return resource


def draft_order(
    oid: str,
    code: str,
    quantity: int,
    patient: dict[str, Any],
    encounter: dict[str, Any],
    practitioner: dict[str, Any],
    indication: dict[str, Any] | None,
    order_date: dt.date,
    authored: str,
    setting: str,
) -> dict[str, Any]:
    order: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": oid,
        "status": "draft",
        "intent": "order",
        "category": [{"coding": [codes.SURGICAL_PROCEDURE]}],
        "code": {"coding": [codes.cpt(code)], "text": codes.CPT_TEXT.get(code, f"CPT {code}")},
        "quantityQuantity": {"value": quantity},
        "subject": ref(patient),
        "encounter": ref(encounter),
        "occurrenceDateTime": order_date.isoformat(),
        "authoredOn": authored,
        "requester": ref(practitioner),
        "locationCode": [{"coding": [codes.PLACE_OF_SERVICE[setting]]}],
    }
    if indication is not None:
        order["reasonReference"] = [ref(indication)]
    return order


def generate(seed: int, as_of: dt.date) -> dict[str, dict[str, Any]]:
    """Scenario name -> bundle, in the order of SPECS."""
    return {spec.name: build_scenario(spec, seed, as_of) for spec in SPECS}


def write(bundles: dict[str, dict[str, Any]], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, bundle in bundles.items():
        path = out / f"{name}.json"
        path.write_text(dumps(bundle), encoding="utf-8", newline="\n")
        written.append(path)
    return written


def patient_age(bundle: dict[str, Any], on: dt.date) -> Age | None:
    for item in bundle.get("entry", []):
        resource = item.get("resource", {})
        if resource.get("resourceType") == "Patient" and len(resource.get("birthDate", "")) == 10:
            return age_on(dt.date.fromisoformat(resource["birthDate"]), on)
    return None
