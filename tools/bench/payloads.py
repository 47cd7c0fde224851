"""Request bodies for the benchmark: an order-sign call for CPT 33952 and the floor's card.

The order-sign request fills every prefetch key the service declares (patient, coverage, encounter,
conditions, consents: cds_hooks/services.json), one resource each, about 5 KB as compact JSON. A
key left out would make the service fetch it from the EHR on every call, which is not the case
measured here. `conditions` can be grown to measure how hook cost scales with the prefetch.
Everything is synthetic.
"""

from __future__ import annotations

import copy
import itertools
import uuid
from typing import Any

CPT = "http://www.ama-assn.org/go/cpt"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
SERVICE_ID = "ecmo-cannulation-order-sign"
PATIENT_ID = "bench-patient-1"
ENCOUNTER_ID = "bench-encounter-1"

_CONDITIONS = [
    ("J80", "Acute respiratory distress syndrome"),
    ("R57.0", "Cardiogenic shock"),
    ("I21.4", "Non-ST elevation myocardial infarction"),
    ("J96.01", "Acute respiratory failure with hypoxia"),
    ("I50.21", "Acute systolic heart failure"),
    ("U07.1", "COVID-19"),
]


def patient() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": PATIENT_ID,
        "meta": {"lastUpdated": "2026-11-20T08:00:00Z"},
        "extension": [
            {
                "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex",
                "valueCode": "F",
            }
        ],
        "identifier": [
            {
                "use": "usual",
                "type": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]
                },
                "system": "urn:oid:2.16.840.1.113883.3.72.5.9.1",
                "value": "BENCH-000001",
            }
        ],
        "active": True,
        "name": [{"use": "official", "family": "Testperson", "given": ["Alex", "Jordan"]}],
        "telecom": [{"system": "phone", "value": "555-0100", "use": "home"}],
        "gender": "female",
        "birthDate": "1979-03-14",
        "address": [
            {
                "use": "home",
                "line": ["1 Example Way"],
                "city": "Springfield",
                "state": "IL",
                "postalCode": "62701",
                "country": "US",
            }
        ],
    }


def encounter() -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": ENCOUNTER_ID,
        "status": "in-progress",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "IMP",
            "display": "inpatient encounter",
        },
        "type": [
            {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "183452005",
                        "display": "Emergency hospital admission",
                    }
                ]
            }
        ],
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "period": {"start": "2026-11-24T22:10:00Z"},
        "location": [{"location": {"display": "Cardiothoracic ICU"}, "status": "active"}],
        "serviceProvider": {"display": "Springfield General Hospital"},
    }


def coverage_bundle() -> dict[str, Any]:
    coverage = {
        "resourceType": "Coverage",
        "id": "bench-coverage-1",
        "status": "active",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "SUBSIDIZ",
                    "display": "subsidized health program",
                }
            ]
        },
        "subscriberId": "1EG4-TE5-MK72",
        "beneficiary": {"reference": f"Patient/{PATIENT_ID}"},
        "relationship": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "code": "self"}
            ]
        },
        "period": {"start": "2026-01-01"},
        "payor": [{"display": "Medicare Part A"}],
        "class": [
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "plan"}
                    ]
                },
                "value": "Medicare Part A",
                "name": "Medicare",
            }
        ],
    }
    return _searchset([coverage])


def condition(index: int) -> dict[str, Any]:
    code, display = _CONDITIONS[index % len(_CONDITIONS)]
    return {
        "resourceType": "Condition",
        "id": f"bench-condition-{index + 1}",
        "clinicalStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
            ]
        },
        "verificationStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "encounter-diagnosis",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": ICD10, "code": code, "display": display}], "text": display},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "encounter": {"reference": f"Encounter/{ENCOUNTER_ID}"},
        "onsetDateTime": "2026-11-24T20:00:00Z",
        "recordedDate": "2026-11-24T22:30:00Z",
    }


def consent_bundle() -> dict[str, Any]:
    consent = {
        "resourceType": "Consent",
        "id": "bench-consent-1",
        "status": "active",
        "scope": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "treatment"}]
        },
        "category": [
            {"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}
        ],
        "patient": {"reference": f"Patient/{PATIENT_ID}"},
        "dateTime": "2026-11-24T23:05:00Z",
        "policyRule": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]
        },
        "provision": {
            "type": "permit",
            "period": {"start": "2026-11-24T23:05:00Z"},
            "code": [{"coding": [{"system": CPT, "code": "33952"}]}],
        },
    }
    return _searchset([consent])


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, r['id'])}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def service_request(code: str = "33952") -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": "bench-order-1",
        "status": "draft",
        "intent": "order",
        "category": [
            {
                "coding": [
                    {"system": "http://snomed.info/sct", "code": "387713003", "display": "Surgical procedure"}
                ]
            }
        ],
        "priority": "stat",
        "code": {"coding": [{"system": CPT, "code": code}], "text": "Peripheral ECMO cannulation"},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "encounter": {"reference": f"Encounter/{ENCOUNTER_ID}"},
        "occurrenceDateTime": "2026-11-25",
        "authoredOn": "2026-11-25T06:40:00Z",
        "requester": {"reference": "Practitioner/bench-practitioner-1"},
        "reasonCode": [{"coding": [{"system": ICD10, "code": "J80"}]}],
    }


def order_sign_request(conditions: int = 1, code: str = "33952") -> dict[str, Any]:
    """A CDS Hooks 2.0 order-sign call with every declared prefetch key filled."""
    return {
        "hook": "order-sign",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": "http://127.0.0.1:9/fhir",
        "context": {
            "userId": "Practitioner/bench-practitioner-1",
            "patientId": PATIENT_ID,
            "encounterId": ENCOUNTER_ID,
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": service_request(code)}],
            },
        },
        "prefetch": {
            "patient": patient(),
            "coverage": coverage_bundle(),
            "encounter": encounter(),
            "conditions": _searchset([condition(i) for i in range(conditions)]),
            "consents": consent_bundle(),
        },
    }


# What varies between the order-sign calls of the varied benchmark row: the patient's age on the date of
# service (2026-11-25), the payer, the code ordered, the order's ICD-10-CM reason and its note. Each axis
# reaches different rules: an age below 6 or a partial birth date (age criteria), each payer kind and no
# coverage (payer policy, coverage information), a header or a made-up reason (ICD-10-CM), a note that
# shows some of the documentation elements.
_BIRTH_DATES = ["1979-03-14", "2021-01-10", "2020-11-25", "1985", "1958-06-01"]
_PAYERS = [
    "Medicare Part A",
    "Blue Cross Blue Shield of Texas",
    "Aetna Better Health",
    "Acme Health Plan",
    None,
]
_CODES = ["33952", "33951", "33954"]
_REASONS = ["J80", "J96.0", "J96.7"]
_NOTES = [None, "VV ECMO via right femoral vein, 25 Fr drainage cannula, ultrasound guided"]


def varied_order_sign_requests(count: int = 64) -> list[dict[str, Any]]:
    """`count` different order-sign calls, spread over every combination of the axes above (the same
    list every time: it is a benchmark, not a fuzzer). Each has its own hookInstance."""
    combinations = list(itertools.product(_BIRTH_DATES, _PAYERS, _CODES, _REASONS, _NOTES))
    step = 7  # coprime with the 450 combinations: consecutive calls differ on every axis
    calls = []
    for index in range(count):
        birth, payer, code, reason, note = combinations[(index * step) % len(combinations)]
        call = order_sign_request(conditions=2, code=code)  # the size of the constant row's body
        call["hookInstance"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"cpt-bench-varied-{index}"))
        call["prefetch"]["patient"]["birthDate"] = birth
        if payer is None:
            call["prefetch"]["coverage"] = _searchset([])
        else:
            coverage = copy.deepcopy(call["prefetch"]["coverage"])
            resource = coverage["entry"][0]["resource"]
            resource["payor"] = [{"display": payer}]
            resource["class"][0]["value"] = resource["class"][0]["name"] = payer
            call["prefetch"]["coverage"] = coverage
        order = call["context"]["draftOrders"]["entry"][0]["resource"]
        order["reasonCode"] = [{"coding": [{"system": ICD10, "code": reason}]}]
        if note is not None:
            order["note"] = [{"text": note}]
        calls.append(call)
    return calls


def floor_card() -> dict[str, Any]:
    """About 1 KB: the size of one real advisory card."""
    return {
        "cards": [
            {
                "uuid": "8a8c1b9e-5b5e-4b8e-9a53-3c1f0f1e2d44",
                "summary": "Peripheral ECMO cannulation: patient is 6 years or older on the date of service",
                "indicator": "info",
                "detail": "The patient's age on the date of service meets the age criterion of the code. "
                "Document the cannulation approach, the vessels cannulated, imaging guidance and the "
                "indication in the procedure note. Rule age-criteria-33952 version 1.0.0; sources: "
                "code family reference; as of 2026-01-01.",
                "source": {
                    "label": "cpt-plugin",
                    "topic": {
                        "system": "https://fhir.cpt-plugin.org/CodeSystem/cds-card-topic",
                        "code": "age-criteria",
                        "display": "Age criteria",
                    },
                },
                "extension": {"org.cpt-plugin.rule": {"id": "age-criteria-33952", "version": "1.0.0"}},
                "overrideReasons": [
                    {
                        "code": "patient-specific",
                        "system": "https://fhir.cpt-plugin.org/CodeSystem/override-reason",
                        "display": "Not applicable to this patient",
                    }
                ],
                "links": [
                    {
                        "label": "Code family reference",
                        "type": "absolute",
                        "url": "https://fhir.cpt-plugin.org/CodeSystem/ecmo-family",
                    }
                ],
            }
        ]
    }
