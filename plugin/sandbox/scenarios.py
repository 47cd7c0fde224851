"""The synthetic scenarios: one per rule path of the CDS service, with the cards each should get.

Which rules exist (id, topic, indicator) comes from cds_hooks/rules/; whether a rule fires for a
scenario is worked out here from the rule's stated condition and the sourced facts the rules cite
(CPT age split, CMS NCCI PTP/MUE/add-on files, CMS PFS indicators), never from what the service
happens to return, so a replay can catch a wrong service:

- age-criteria `age-band-mismatch` (warning): 33952 is for patients 6 and older, 33951 for birth
  through 5 years; the age that counts is the one on the date of service, in completed years. Born
  29 February: the anniversary is reached on 1 March of a common year, so on 28 February the
  patient is still 5.
- data-quality `age-band-uncertain` (warning): a partial birth date leaves the age on both sides of
  6; `birth-date-unusable` (warning): no birth date. A partial date that still decides the band gets
  no card.
- documentation `cannulation-note-elements` (info): every insertion order 33951-33956 gets the note
  checklist; a missing indication or consent shows in that card, not as a card of its own.
- coding-edit: NCCI PTP 07-2024 bundles 76000 and 77001 into 33952 at modifier indicator 1
  (`ncci-ptp-modifier-bypass`) and 33958 at indicator 0 (`ncci-ptp-no-bypass`); the add-on file pairs
  33987 only with 33953-33956 (`ncci-add-on-without-primary`); MUE for 33952 is 1 per day, MAI 3
  (`ncci-mue-exceeded`). 76937 has no edit with 33952: no card. On order-select only the selected
  order is advised on, so the add-on card (about the unselected 33987) comes with order-sign.
- site-of-service `non-facility-setting` (warning): 33952 has no non-facility price, so an office
  (POS 11) order is flagged.
- payer-policy (info): Medicare `payer-medicare`, a Blue plan `payer-blue-plan`, Aetna, Cigna and
  UnitedHealthcare `payer-policy-not-verified`; a payer the service does not recognise gets none.
- An order outside the ECMO/ECLS family gets no cards at all.

The age cards depend on the date of service, so they are not listed per scenario: scenario_dates.py
works them out from each scenario's birth-date definition on whatever date the order is placed.
"""

from __future__ import annotations

from dataclasses import dataclass

from plugin.sandbox.bundles import ExpectedCard

AGE = ExpectedCard("age-criteria", "warning", "age-band-mismatch")
AGE_UNCERTAIN = ExpectedCard("data-quality", "warning", "age-band-uncertain")
NO_BIRTH_DATE = ExpectedCard("data-quality", "warning", "birth-date-unusable")
NOTE = ExpectedCard("documentation", "info", "cannulation-note-elements")
PTP_BYPASS = ExpectedCard("coding-edit", "warning", "ncci-ptp-modifier-bypass")
PTP_NO_BYPASS = ExpectedCard("coding-edit", "warning", "ncci-ptp-no-bypass")
# order-select advises on the selected order only (Da Vinci CRD hooks.md); the add-on is not selected.
ADD_ON = ExpectedCard("coding-edit", "warning", "ncci-add-on-without-primary", hooks=("order-sign",))
MUE = ExpectedCard("coding-edit", "warning", "ncci-mue-exceeded")
OFFICE = ExpectedCard("site-of-service", "warning", "non-facility-setting")
PAYER_CARD = {
    "medicare": ExpectedCard("payer-policy", "info", "payer-medicare"),
    "bcbs": ExpectedCard("payer-policy", "info", "payer-blue-plan"),
    "aetna": ExpectedCard("payer-policy", "info", "payer-policy-not-verified"),
    "cigna": ExpectedCard("payer-policy", "info", "payer-policy-not-verified"),
    "unitedhealthcare": ExpectedCard("payer-policy", "info", "payer-policy-not-verified"),
}
FAMILY_INSERTION = {"33951", "33952", "33953", "33954", "33955", "33956"}


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
    # Cards particular to the scenario; the note checklist and the payer's card are added by cards(),
    # the age cards by scenario_dates.expected_cards(), from the birth date and the date of service.
    expected: tuple[ExpectedCard, ...] = ()
    in_family: bool = True

    def cards(self) -> list[ExpectedCard]:
        """The cards that do not depend on the date: the scenario's own, the note and the payer's."""
        if not self.in_family:
            return []
        found = list(self.expected)
        if self.code in FAMILY_INSERTION:
            found.append(NOTE)
        if self.payer in PAYER_CARD:
            found.append(PAYER_CARD[self.payer])
        return found


SPECS: tuple[Spec, ...] = (
    Spec(
        "under6-day-before-6th-birthday",
        "Child who turns 6 the day after the date of service (on 28 February of a leap year: on 1 March, "
        "two days later); 33952 ordered: still 5, so 33951 applies.",
        birth="day-before",
        payer="bcbs",
    ),
    Spec(
        "sixth-birthday-day-of",
        "Child whose 6th birthday is the date of service (on 29 February: who turned 6 the day before, "
        "as nobody born six years earlier has a 29 February): 33952 is right.",
        birth="day-of",
        payer="aetna",
        expected=(),
    ),
    Spec(
        "leap-day-birthday-feb28",
        "Born 29 February; service on 28 February of a common year: still 5 (6 on 1 March), so 33951 "
        "applies. On another date: the oldest child born on a 29 February who is still under 6.",
        birth="leap-feb28",
        payer="cigna",
    ),
    Spec(
        "leap-day-birthday-mar01",
        "Born 29 February; service on 1 March of a common year: 6, 33952 is right. On another date: the "
        "youngest child born on a 29 February who is 6 or older.",
        birth="leap-mar01",
        payer="unitedhealthcare",
        expected=(),
    ),
    Spec(
        "adult-ordered-33951",
        "Adult with the birth-through-5 code ordered: 33952 applies.",
        code="33951",
        payer="aetna",
    ),
    Spec(
        "adult-medicare",
        "Adult, Medicare Part B, complete record.",
        age_years=(66, 84),
        payer="medicare",
        expected=(),
    ),
    Spec(
        "adult-blue-plan",
        "Adult, Blue Cross Blue Shield plan, complete record.",
        payer="bcbs",
        expected=(),
    ),
    Spec("adult-aetna", "Adult, Aetna, complete record.", payer="aetna", expected=()),
    Spec("adult-cigna", "Adult, Cigna, complete record.", payer="cigna", expected=()),
    Spec(
        "adult-unitedhealthcare",
        "Adult, UnitedHealthcare, complete record.",
        payer="unitedhealthcare",
        expected=(),
    ),
    Spec(
        "adult-unknown-payer",
        "Adult whose payer the service does not recognise: no payer card.",
        payer="acme",
        expected=(),
    ),
    Spec(
        "partial-birthdate-year-only",
        "Birth date is a year only, six years back: 5 or 6, undecidable (on 31 December it is 6 for "
        "every day of that year, so the age is decided).",
        birth="partial-year",
        payer="bcbs",
    ),
    Spec(
        "partial-birthdate-year-month",
        "Birth date is year and month only, that month six years back: 5 or 6, undecidable (on the last "
        "day of a month it is 6 for every day of that month, so the age is decided).",
        birth="partial-month",
        payer="cigna",
    ),
    Spec(
        "partial-birthdate-adult",
        "Adult whose birth date is a year only: clearly over 6, no card.",
        birth="adult-partial-year",
        payer="medicare",
        age_years=(66, 84),
        expected=(),
    ),
    Spec(
        "missing-birthdate",
        "No birth date on record (data-absent-reason unknown).",
        birth="missing",
        payer="unitedhealthcare",
    ),
    Spec(
        "missing-indication",
        "No active ECMO indication (a resolved pneumonia only): the note checklist shows it missing.",
        indication=False,
        payer="aetna",
        expected=(),
    ),
    Spec(
        "missing-consent",
        "No active consent on record: the note checklist shows it missing.",
        consent=False,
        payer="bcbs",
        expected=(),
    ),
    Spec(
        "fluoroscopy-76000-alongside",
        "Fluoroscopy 76000 ordered with 33952: bundled by NCCI.",
        concurrent=("76000",),
        payer="medicare",
        age_years=(66, 84),
        expected=(PTP_BYPASS,),
    ),
    Spec(
        "fluoroscopic-guidance-77001-alongside",
        "Fluoroscopic guidance 77001 with 33952: bundled.",
        concurrent=("77001",),
        payer="cigna",
        expected=(PTP_BYPASS,),
    ),
    Spec(
        "addon-33987-alongside",
        "Add-on 33987 with 33952, which is not one of its primary codes.",
        concurrent=("33987",),
        payer="unitedhealthcare",
        expected=(ADD_ON,),
    ),
    Spec(
        "reposition-33958-alongside",
        "Reposition 33958 at the same session as insertion 33952.",
        concurrent=("33958",),
        payer="aetna",
        expected=(PTP_NO_BYPASS,),
    ),
    Spec(
        "ultrasound-76937-alongside",
        "Ultrasound guidance 76937 with 33952: no NCCI edit, no card.",
        concurrent=("76937",),
        payer="bcbs",
        expected=(),
    ),
    Spec(
        "quantity-2",
        "Two units of 33952 on one day: over the MUE of 1.",
        quantity=2,
        payer="medicare",
        age_years=(66, 84),
        expected=(MUE,),
    ),
    Spec(
        "office-setting",
        "33952 ordered in an office (POS 11), where it has no price.",
        setting="office",
        payer="acme",
        expected=(OFFICE,),
    ),
    Spec(
        "non-ecmo-order",
        "An order outside the ECMO/ECLS family (76937 alone): no cards.",
        code="76937",
        payer="aetna",
        in_family=False,
    ),
)
