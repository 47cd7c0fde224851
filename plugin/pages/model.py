"""The pages' content as data: the code family list and one page per family code (the page of one
modifier applicability row is in modifiers.py). Every line is read from the FHIR resources (registry)
and the rule and fact data (CDS area); the templates only lay it out, and `Accept: application/json`
gets these dicts as they are.
"""

from __future__ import annotations

import re
from typing import Any

from plugin.cds_hooks.fhir import CPT, as_dict, as_list, as_str
from plugin.pages import facts as fact_sections
from plugin.pages.content import (
    AGE_BAND_MAP,
    AGE_BAND_SYSTEM,
    APPLICABILITY_SYSTEM,
    AXIS_SYSTEM,
    DOCUMENTATION_SYSTEM,
    FACILITY_POS_VALUE_SET,
    FAMILY_VALUE_SET,
    NOTE_QUESTIONNAIRE,
    concept,
    map_targets,
    modifier_rows,
    value_set_codes,
    walk,
)
from plugin.pages.facts import fact
from plugin.pages.inputs import Inputs, concept_fact, family_codes
from plugin.pages.modifiers import modifier_row, modifiers_section
from plugin.pages.sources import SourceBook, split_comment
from plugin.pages.urls import code_page_url


def _axis(inputs: Inputs, code: str | None) -> Any:
    return concept(inputs.registry, AXIS_SYSTEM, code) if code else None


def family_row(inputs: Inputs, code: str) -> dict[str, Any]:
    """One row of the family table: code, our description, age band, approach, action."""
    cpt = concept(inputs.registry, CPT, code)
    band = _own_band(inputs, code)
    approach = _axis(inputs, cpt.prop("approach") if cpt else None)
    action = _axis(inputs, cpt.prop("action") if cpt else None)
    mode = _axis(inputs, cpt.prop("ecmo-mode") if cpt else None)
    return {
        "code": code,
        "url": code_page_url(code),
        "display": cpt.display if cpt else None,
        "ageBand": band.display if band else _age_text(cpt),
        "approach": approach.display if approach else None,
        "action": action.display if action else None,
        "mode": mode.display if mode else None,
        "addOn": bool(cpt and cpt.prop("add-on")),
    }


def _age_text(cpt: Any) -> str | None:
    """An age criterion with no age-band concept for it, said from the code's own age-min/age-max."""
    if cpt is None:
        return None
    low, high = cpt.prop("age-min"), cpt.prop("age-max")
    if high is not None:
        return f"{low or 0} through {high} years"
    if low:
        return f"{low} years and older"
    return "Any age" if low == 0 else None


def _own_band(inputs: Inputs, code: str) -> Any:
    """The age band the age-band ConceptMap says the code is for (a target's dependsOn band)."""
    for target in map_targets(inputs.registry, AGE_BAND_MAP):
        if target.code == code:
            band = target.depends_on.get(AGE_BAND_SYSTEM)
            if band:
                return concept(inputs.registry, AGE_BAND_SYSTEM, band)
    return None


def family(inputs: Inputs) -> dict[str, Any]:
    codes = family_codes(inputs)
    rows = [family_row(inputs, code) for code in codes]
    modifier_pages = []
    for code in codes:
        for target in modifier_rows(inputs.registry, code):
            row = modifier_row(inputs, code, target, SourceBook())  # the sources are on the row's page
            modifier_pages.append(
                {
                    "code": f"{code}:{target.source_code}",
                    "url": row["url"],
                    "base": code,
                    "modifier": target.source_code,
                    "name": row.get("name"),
                    "category": row["category"],
                    "categoryDisplay": row["categoryDisplay"],
                }
            )
    value_set = inputs.registry.get(FAMILY_VALUE_SET) or {}
    return {
        "title": as_str(value_set.get("title")) or "ECMO/ECLS code family",
        "valueSet": FAMILY_VALUE_SET,
        "codes": rows,
        "modifierPages": modifier_pages,
    }


def _says_included(text: str | None, code: str) -> bool:
    """Does the content's sentence say something is included in the code ("included in 33952",
    "not reported separately")? Only such statements make the "What is included" list."""
    if not text:
        return False
    return bool(
        re.search(rf"\bincluded in {re.escape(code)}(?![0-9A-Z])", text, re.IGNORECASE)
        or "not reported separately" in text
    )


def _age_section(inputs: Inputs, code: str, cpt: Any, book: SourceBook) -> dict[str, Any]:
    band = _own_band(inputs, code)
    facts = [
        concept_fact(band, book, band.definition if band else None, label=band.display if band else None)
    ]
    counterparts = []
    for target in map_targets(inputs.registry, AGE_BAND_MAP):
        if target.source_code != code:
            continue
        reason, citations, as_of = split_comment(target.comment)
        other = concept(inputs.registry, CPT, target.code)
        other_band = concept(inputs.registry, AGE_BAND_SYSTEM, target.depends_on.get(AGE_BAND_SYSTEM, ""))
        counterparts.append(
            fact(
                reason,
                book.cite_text(citations, as_of),
                code=target.code,
                url=code_page_url(target.code),
                display=other.display if other else None,
                band=other_band.display if other_band else None,
                asOf=as_of,
            )
        )
    return {
        "band": band.display if band else _age_text(cpt),
        "ageMin": cpt.prop("age-min") if cpt else None,
        "ageMax": cpt.prop("age-max") if cpt else None,
        "facts": [f for f in facts if f],
        "counterparts": counterparts,
        "map": AGE_BAND_MAP,
    }


def _included(inputs: Inputs, code: str, book: SourceBook) -> list[dict[str, Any]]:
    """What the content says is part of the code: imaging guidance concepts of the procedure axes
    whose definition says so, and the NCCI pairs (the code in column 1) whose note says so."""
    items: list[dict[str, Any]] = []
    axes = inputs.registry.get(AXIS_SYSTEM) or {}
    for group in as_list(axes.get("concept")):
        if as_dict(group).get("code") != "imaging-guidance":
            continue
        for child in walk(as_dict(group).get("concept")):
            if _says_included(as_str(child.get("definition")), code):
                found = concept(inputs.registry, AXIS_SYSTEM, str(child.get("code")))
                if found is not None:
                    items.append(
                        fact(
                            found.definition or "",
                            book.cite_text(found.source, found.as_of),
                            label=found.display,
                            asOf=found.as_of,
                        )
                    )
    if inputs.tables is not None:
        bundles = fact_sections.edits(inputs.tables, code, book)["bundles"]
        items += [row for row in bundles if row.get("note") and _says_included(row["note"], code)]
    return items


def _documentation(inputs: Inputs, code: str, book: SourceBook) -> dict[str, Any]:
    """The documentation elements, when a documentation rule fires for the code or the note form is for it."""
    questionnaire = inputs.registry.get(NOTE_QUESTIONNAIRE) or {}
    form_codes = {as_dict(c).get("code") for c in as_list(questionnaire.get("code"))}
    rules = [
        r for r in inputs.rules if r.topic == "documentation" and r.codes is not None and r.triggered(code)
    ]
    applies = code in form_codes or bool(rules)
    system = inputs.registry.get(DOCUMENTATION_SYSTEM) or {}
    elements = []
    if applies:
        for data in walk(system.get("concept")):
            found = concept(inputs.registry, DOCUMENTATION_SYSTEM, str(data.get("code")))
            if found is None:
                continue
            elements.append(
                fact(
                    found.definition or "",
                    book.cite_text(found.source, found.as_of),
                    code=found.code,
                    label=found.display,
                    confidence=as_str(found.prop("confidence")) or "not stated",
                    asOf=found.as_of,
                )
            )
    return {
        "applies": applies,
        "elements": elements,
        "questionnaire": NOTE_QUESTIONNAIRE if applies and questionnaire else None,
        "system": DOCUMENTATION_SYSTEM,
    }


def _site(inputs: Inputs, code: str, modifiers: dict[str, Any], book: SourceBook) -> dict[str, Any]:
    value_set = inputs.registry.get(FACILITY_POS_VALUE_SET) or {}
    places = []
    for system, pos in value_set_codes(inputs.registry, FACILITY_POS_VALUE_SET):
        found = concept(inputs.registry, system, pos)
        item = concept_fact(found, book, found.display if found else None, code=pos)
        if item:
            places.append(item)
    notes = []
    for category in sorted({r["category"] for r in modifiers["rows"]}):
        found = concept(inputs.registry, APPLICABILITY_SYSTEM, category)
        if found and found.definition and "inpatient-only" in found.definition:
            notes.append(concept_fact(found, book, found.definition, label=found.display))
    section: dict[str, Any] = {
        "valueSet": FACILITY_POS_VALUE_SET if value_set else None,
        "valueSetTitle": as_str(value_set.get("title")),
        "places": places,
        "notes": [n for n in notes if n],
        "nonFacilityPrice": None,
        "cmsPlaces": [],
        "payerPlaces": [],
    }
    if inputs.tables is not None:
        medicare = fact_sections.medicare(inputs.tables, code, book)
        section["nonFacilityPrice"] = next(
            (i for i in medicare["indicators"] if i["field"] == "nonFacilityPrice"), None
        )
        # The settings the value set does not already list (e.g. the office, POS 11).
        listed = {p["code"] for p in places}
        section["cmsPlaces"] = [
            p for p in fact_sections.places_of_service(inputs.tables, book) if p["code"] not in listed
        ]
        section["payerPlaces"] = fact_sections.payer_places_of_service(inputs.tables, book)
    return section


def code_page(inputs: Inputs, code: str) -> dict[str, Any] | None:
    """The page of one family code, or None for a code outside the family."""
    if code not in family_codes(inputs):
        return None
    book = SourceBook()
    cpt = concept(inputs.registry, CPT, code)
    row = family_row(inputs, code)
    summary = [
        concept_fact(cpt, book, cpt.display if cpt else None, label="Our description"),
        concept_fact(cpt, book, row["action"], label="Action"),
        concept_fact(cpt, book, row["approach"], label="Approach"),
        concept_fact(cpt, book, row["mode"], label="ECMO mode"),
        concept_fact(cpt, book, row["ageBand"], label="Age band"),
        concept_fact(cpt, book, "yes" if row["addOn"] else "no", label="Add-on code"),
        concept_fact(
            cpt, book, as_str(cpt.prop("global-days")) if cpt else None, label="Medicare global days"
        ),
    ]
    approach = _axis(inputs, cpt.prop("approach") if cpt else None)
    modifiers = modifiers_section(inputs, code, book)
    page: dict[str, Any] = {
        "kind": "code",
        "code": code,
        "system": CPT,
        "codeSystemVersion": cpt.version if cpt else None,
        "url": code_page_url(code),
        "display": cpt.display if cpt else None,
        "summary": [f for f in summary if f],
        "covers": [f for f in [concept_fact(cpt, book, cpt.definition if cpt else None)] if f],
        "age": _age_section(inputs, code, cpt, book),
        "approach": [
            f
            for f in [
                concept_fact(
                    approach,
                    book,
                    approach.definition if approach else None,
                    label=approach.display if approach else None,
                )
            ]
            if f
        ],
        "included": _included(inputs, code, book),
        "documentation": _documentation(inputs, code, book),
        "modifiers": modifiers,
        "site": _site(inputs, code, modifiers, book),
    }
    if inputs.tables is not None:
        page["medicare"] = fact_sections.medicare(inputs.tables, code, book)
        page["payers"] = fact_sections.payers(inputs.tables, book)
        page["edits"] = fact_sections.edits(inputs.tables, code, book)
        page["rules"] = fact_sections.rules_for(inputs.rules, code, book)
    else:
        page |= {"medicare": None, "payers": None, "edits": None, "rules": []}
    page["copyright"] = as_str(cpt.resource.get("copyright")) if cpt else None
    page["sources"] = book.as_json()
    return page
