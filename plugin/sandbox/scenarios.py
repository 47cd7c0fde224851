"""The synthetic scenarios: one per rule path of the CDS service, with the cards each should get.

Expected cards come from the rules as the product states them and from the sourced domain facts
(shared domain notes §1-§6), never from what the service happens to return, so a replay can catch a
wrong service:

- age-criteria (warning): 33952 is for patients 6 and older, 33951 for birth through 5 years; the
  age that counts is the age on the date of service, in completed years. A code from the wrong band
  gets a card suggesting the other one. Born 29 February: 6 completed years are reached on 1 March
  of a common year, so on 28 February the patient is still 5.
- data-quality (warning): the age band cannot be decided (birth date missing, or partial and the
  date of service falls inside the range it allows). A partial date that still decides the band
  gets no card.
- documentation: no active ECMO indication (ICD-10-CM, ValueSet ecmo-indications-icd10cm) is a
  warning; no active consent is info (consent may be implied in an emergency).
- coding-edit (warning): NCCI PTP 07-2024 bundles 76000 and 77001 into 33952 (fluoroscopy is part of
  the code when performed) and 33958 (reposition at the same session, modifier indicator 0); the NCCI
  add-on file pairs 33987 only with 33953-33956, so 33952 is no primary for it; MUE for 33952 is 1
  per day (MAI 3), so a quantity of 2 is flagged. 76937 has no edit with 33952: no card.
- site-of-service (warning): 33952 has no non-facility price (PFS non-facility PE "NA"), so an
  office setting (POS 11) is flagged.
- payer-policy (info): every order in the family with a Coverage gets one note about that payer
  (Medicare: no NCD/LCD found; the Blue plans: BCBSA 8.01.60; Aetna, Cigna, UnitedHealthcare and an
  unknown payer: no ECMO policy verified, check the plan).
- An order outside the ECMO/ECLS family gets no cards at all.

Rule ids are filled in from cds_hooks/rules/ (RULE_IDS below) so a card must also name the right rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from plugin.sandbox.bundles import ExpectedCard

# topic -> rule id, by what the rule checks; None until the rule set names it.
RULE_IDS: dict[str, str | None] = {
    "age-band": None,
    "age-unknown": None,
    "indication": None,
    "consent": None,
    "ncci-ptp": None,
    "addon-primary": None,
    "mue": None,
    "site-of-service": None,
    "payer": None,
}


def card(topic: str, indicator: str, rule_key: str) -> ExpectedCard:
    return ExpectedCard(topic, indicator, RULE_IDS[rule_key])


AGE = card("age-criteria", "warning", "age-band")
AGE_UNKNOWN = card("data-quality", "warning", "age-unknown")
PAYER = card("payer-policy", "info", "payer")


@dataclass(frozen=True)
class Spec:
    """How to build one scenario's patient and order (dates are worked out from the as-of date)."""

    name: str
    description: str
    # One of: "exact" (age, at the as-of date), "day-before" / "day-of" the 6th birthday,
    # "leap-feb28" / "leap-mar01", "partial-year", "partial-month", "adult-partial-year", "missing".
    birth: str = "exact"
    age_years: tuple[int, int] = (30, 75)
    payer: str = "aetna"
    code: str = "33952"
    quantity: int = 1
    concurrent: tuple[str, ...] = ()
    setting: str = "inpatient"
    indication: bool = True
    consent: bool = True
    expected: tuple[ExpectedCard, ...] = ()


SPECS: tuple[Spec, ...] = (
    Spec(
        "under6-day-before-6th-birthday",
        "Child who turns 6 tomorrow; 33952 ordered today: 33951 applies.",
        birth="day-before",
        payer="bcbs",
        expected=(AGE, PAYER),
    ),
    Spec(
        "sixth-birthday-day-of",
        "Child who turns 6 on the date of service: 33952 is right.",
        birth="day-of",
        payer="aetna",
        expected=(PAYER,),
    ),
    Spec(
        "leap-day-birthday-feb28",
        "Born 29 February; service on 28 February of a common year: still 5.",
        birth="leap-feb28",
        payer="cigna",
        expected=(AGE, PAYER),
    ),
    Spec(
        "leap-day-birthday-mar01",
        "Born 29 February; service on 1 March of a common year: 6.",
        birth="leap-mar01",
        payer="unitedhealthcare",
        expected=(PAYER,),
    ),
    Spec(
        "adult-ordered-33951",
        "Adult with the birth-through-5 code ordered: 33952 applies.",
        code="33951",
        payer="aetna",
        expected=(AGE, PAYER),
    ),
    Spec(
        "adult-medicare",
        "Adult, Medicare Part B, complete record.",
        age_years=(66, 84),
        payer="medicare",
        expected=(PAYER,),
    ),
    Spec(
        "adult-blue-plan",
        "Adult, Blue Cross Blue Shield plan, complete record.",
        payer="bcbs",
        expected=(PAYER,),
    ),
    Spec("adult-aetna", "Adult, Aetna, complete record.", payer="aetna", expected=(PAYER,)),
    Spec("adult-cigna", "Adult, Cigna, complete record.", payer="cigna", expected=(PAYER,)),
    Spec(
        "adult-unitedhealthcare",
        "Adult, UnitedHealthcare, complete record.",
        payer="unitedhealthcare",
        expected=(PAYER,),
    ),
    Spec(
        "adult-unknown-payer", "Adult whose payer the service does not know.", payer="acme", expected=(PAYER,)
    ),
    Spec(
        "partial-birthdate-year-only",
        "Birth date is a year only, six years back: 5 or 6, undecidable.",
        birth="partial-year",
        payer="bcbs",
        expected=(AGE_UNKNOWN, PAYER),
    ),
    Spec(
        "partial-birthdate-year-month",
        "Birth date is year and month only, that month six years back.",
        birth="partial-month",
        payer="cigna",
        expected=(AGE_UNKNOWN, PAYER),
    ),
    Spec(
        "partial-birthdate-adult",
        "Adult whose birth date is a year only: clearly over 6, no card.",
        birth="adult-partial-year",
        payer="medicare",
        age_years=(66, 84),
        expected=(PAYER,),
    ),
    Spec(
        "missing-birthdate",
        "No birth date on record (data-absent-reason unknown).",
        birth="missing",
        payer="unitedhealthcare",
        expected=(AGE_UNKNOWN, PAYER),
    ),
    Spec(
        "missing-indication",
        "No active ECMO indication (only a resolved pneumonia on record).",
        indication=False,
        payer="aetna",
        expected=(card("documentation", "warning", "indication"), PAYER),
    ),
    Spec(
        "missing-consent",
        "No active consent on record.",
        consent=False,
        payer="bcbs",
        expected=(card("documentation", "info", "consent"), PAYER),
    ),
    Spec(
        "fluoroscopy-76000-alongside",
        "Fluoroscopy 76000 ordered with 33952: bundled by NCCI.",
        concurrent=("76000",),
        payer="medicare",
        age_years=(66, 84),
        expected=(card("coding-edit", "warning", "ncci-ptp"), PAYER),
    ),
    Spec(
        "fluoroscopic-guidance-77001-alongside",
        "Fluoroscopic guidance 77001 with 33952: bundled.",
        concurrent=("77001",),
        payer="cigna",
        expected=(card("coding-edit", "warning", "ncci-ptp"), PAYER),
    ),
    Spec(
        "addon-33987-alongside",
        "Add-on 33987 with 33952, which is not one of its primary codes.",
        concurrent=("33987",),
        payer="unitedhealthcare",
        expected=(card("coding-edit", "warning", "addon-primary"), PAYER),
    ),
    Spec(
        "reposition-33958-alongside",
        "Reposition 33958 at the same session as insertion 33952.",
        concurrent=("33958",),
        payer="aetna",
        expected=(card("coding-edit", "warning", "ncci-ptp"), PAYER),
    ),
    Spec(
        "ultrasound-76937-alongside",
        "Ultrasound guidance 76937 with 33952: no NCCI edit, no card.",
        concurrent=("76937",),
        payer="bcbs",
        expected=(PAYER,),
    ),
    Spec(
        "quantity-2",
        "Two units of 33952 on one day: over the MUE of 1.",
        quantity=2,
        payer="medicare",
        age_years=(66, 84),
        expected=(card("coding-edit", "warning", "mue"), PAYER),
    ),
    Spec(
        "office-setting",
        "33952 ordered in an office (POS 11), where it has no price.",
        setting="office",
        payer="acme",
        expected=(card("site-of-service", "warning", "site-of-service"), PAYER),
    ),
    Spec(
        "non-ecmo-order",
        "An order outside the ECMO/ECLS family (76937 alone): no cards.",
        code="76937",
        payer="aetna",
        expected=(),
    ),
)
