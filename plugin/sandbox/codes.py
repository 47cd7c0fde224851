"""Codes and identifiers the sandbox writes into patient records (plain-language CPT texts are ours)."""

from __future__ import annotations

import random
from typing import Any

CPT = "http://www.ama-assn.org/go/cpt"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
NPI = "http://hl7.org/fhir/sid/us-npi"
SOPT = "urn:oid:2.16.840.1.113883.3.221.5"
SANDBOX_MRN = "https://fhir.cpt-plugin.org/sid/sandbox-mrn"
SANDBOX_PAYER_ID = "https://fhir.cpt-plugin.org/sid/sandbox-payer"
SANDBOX_MEMBER_ID = "https://fhir.cpt-plugin.org/sid/sandbox-member-id"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

MR = {
    "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
    "code": "MR",
    "display": "Medical record number",
}
DATA_ABSENT_UNKNOWN = {
    "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
    "valueCode": "unknown",
}
ORG_PAYER = {
    "system": "http://terminology.hl7.org/CodeSystem/organization-type",
    "code": "pay",
    "display": "Payer",
}
ORG_PROVIDER = {
    "system": "http://terminology.hl7.org/CodeSystem/organization-type",
    "code": "prov",
    "display": "Healthcare Provider",
}
RELATIONSHIP_SELF = {
    "system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
    "code": "self",
    "display": "Self",
}
COVERAGE_CLASS_PLAN = {
    "system": "http://terminology.hl7.org/CodeSystem/coverage-class",
    "code": "plan",
    "display": "Plan",
}
SELF_PAY = {
    "system": "http://terminology.hl7.org/CodeSystem/coverage-selfpay",
    "code": "pay",
    "display": "PAY",
}
CONSENT_SCOPE_TREATMENT = {
    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
    "code": "treatment",
    "display": "Treatment",
}
CONSENT_CATEGORY = {"system": "http://loinc.org", "code": "59284-0"}
OPT_IN = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN", "display": "opt-in"}
ENCOUNTER_DIAGNOSIS = {
    "system": "http://terminology.hl7.org/CodeSystem/condition-category",
    "code": "encounter-diagnosis",
    "display": "Encounter Diagnosis",
}
SURGICAL_PROCEDURE = {
    "system": "http://snomed.info/sct",
    "code": "387713003",
    "display": "Surgical procedure",
}

ENCOUNTER_CLASS = {
    "inpatient": {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "code": "IMP",
        "display": "inpatient encounter",
    },
    "office": {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "code": "AMB",
        "display": "ambulatory",
    },
}
PLACE_OF_SERVICE = {
    "inpatient": {"system": POS, "code": "21", "display": "Inpatient Hospital"},
    "office": {"system": POS, "code": "11", "display": "Office"},
}

# Billable ICD-10-CM codes for sourced ECMO indications (CDC ICD-10-CM FY2026 tabular list).
INDICATIONS: list[tuple[str, str]] = [
    ("J80", "Acute respiratory distress syndrome"),
    ("J96.01", "Acute respiratory failure with hypoxia"),
    ("R57.0", "Cardiogenic shock"),
    ("I40.9", "Acute myocarditis, unspecified"),
    ("I46.9", "Cardiac arrest, cause unspecified"),
    ("Z76.82", "Awaiting organ transplant status"),
]

# Our own plain-language texts (CPT descriptors are AMA copyright and are not copied).
CPT_TEXT = {
    "33951": "ECMO/ECLS peripheral cannula insertion through the skin, birth through 5 years",
    "33952": "ECMO/ECLS peripheral cannula insertion through the skin, 6 years and older",
    "33958": "ECMO/ECLS peripheral cannula repositioning through the skin, 6 years and older",
    "33987": "Artery exposure with graft for ECMO/ECLS arterial flow (add-on)",
    "76000": "Fluoroscopy",
    "77001": "Fluoroscopic guidance for central venous access",
    "76937": "Ultrasound guidance for vascular access",
}

# Payer strings as an EHR's Coverage carries them: Coverage.payor.display, Organization.name, plan.
PAYERS: dict[str, dict[str, Any]] = {
    "medicare": {
        "display": "Medicare Part B",
        "name": "Centers for Medicare & Medicaid Services",
        "plan": "Medicare Part B",
        "type": {"system": SOPT, "code": "1", "display": "MEDICARE"},
    },
    "aetna": {
        "display": "Aetna",
        "name": "Aetna",
        "plan": "Aetna Open Access Managed Choice",
        "type": {"system": SOPT, "code": "5", "display": "PRIVATE HEALTH INSURANCE"},
    },
    "bcbs": {
        "display": "Blue Cross Blue Shield of Massachusetts",
        "name": "Blue Cross Blue Shield of Massachusetts",
        "plan": "Blue Cross Blue Shield PPO",
        "type": {"system": SOPT, "code": "5", "display": "PRIVATE HEALTH INSURANCE"},
    },
    "cigna": {
        "display": "Cigna",
        "name": "Cigna",
        "plan": "Cigna Open Access Plus",
        "type": {"system": SOPT, "code": "5", "display": "PRIVATE HEALTH INSURANCE"},
    },
    "unitedhealthcare": {
        "display": "UnitedHealthcare",
        "name": "UnitedHealthcare",
        "plan": "UnitedHealthcare Choice Plus",
        "type": {"system": SOPT, "code": "5", "display": "PRIVATE HEALTH INSURANCE"},
    },
    "acme": {
        "display": "Acme Health Plan",
        "name": "Acme Health Plan",
        "plan": "Acme Standard",
        "type": {"system": SOPT, "code": "5", "display": "PRIVATE HEALTH INSURANCE"},
    },
}


def cpt(code: str) -> dict[str, Any]:
    return {"system": CPT, "code": code}


def npi(rng: random.Random) -> str:
    """A 10-digit number that passes the NPI check digit (Luhn over the 80840 prefix)."""
    body = f"{rng.choice([1, 2])}{rng.randint(0, 10**8 - 1):08d}"
    digits = [int(d) for d in "80840" + body]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return body + str((10 - total % 10) % 10)
