"""A header reason code (a chapter, block or category of ICD-10-CM) is classified from arrays the
ICD-10-CM view builds once: the same answer as walking the header's subtree, without making a
concept of each of its codes (a chapter holds 40,000), whatever code an EHR sends."""

from __future__ import annotations

from flask import Flask

from plugin.cds_hooks.diagnoses import Diagnoses
from plugin.content.icd10cm_view import CompactView
from tests.cds_hooks.stubs import ORDER_SIGN, cards_of, order_sign, service_request
from tests.cds_hooks.test_diagnosis_codes import with_reasons


def _diagnoses(app: Flask) -> Diagnoses:
    diagnoses = app.extensions["cds_hooks"].rules.context.diagnoses
    assert isinstance(diagnoses.view, CompactView), "the bundled ICD-10-CM is served by the compact view"
    return diagnoses


def test_headers__counted_from_arrays_as_a_walk_of_the_subtree_counts_them(cds_app: Flask) -> None:
    diagnoses = _diagnoses(cds_app)
    view = diagnoses.view
    codes = list(view.concepts)
    headers = [c for c in codes if view.is_abstract(view.concepts[c])]
    # Every chapter, and every 40th header of the rest (blocks, categories, subcategories).
    sample = list(dict.fromkeys([*view.roots, *headers[::40]]))
    assert len(sample) > 100
    for code in sample:
        fast = diagnoses.classify(code)
        walked = diagnoses._walk(view.concepts[code])
        assert fast.status == "header"
        assert (fast.billable_below, fast.more_below) == (walked.billable_below, walked.more_below), code


def test_chapter_reason__no_concept_made_for_the_codes_below(cds_app: Flask) -> None:
    # A view of its own (the app's is shared by the whole test process), so nothing is made yet.
    view = CompactView(_diagnoses(cds_app).view.resource)
    made = view.concepts._made  # the concepts this view has made (it keeps them for the process)
    assert "19" in view.roots
    found = Diagnoses(view).classify("19")  # chapter 19, injury and poisoning
    assert found.status == "header" and len(found.billable_below) == 8 and found.more_below > 40_000
    assert len(made) <= 1  # the chapter itself


def test_33952_for_a_chapter_reason__header_card_counts_the_codes_below(call) -> None:
    response = call(ORDER_SIGN, order_sign([with_reasons(service_request("sr-1", "33952"), "19")]))
    [card] = cards_of(response, rule="icd10cm-reason-not-billable")
    assert card["summary"].startswith("Reason 19 is an ICD-10-CM header, not billable")
    assert "more)" in card["detail"]
