"""ICD-10-CM `$expand` with an is-a filter and a text filter: the lean view numbers the tabular's concepts
in tree order, so a subtree is a run of numbers and the text matches inside it a slice. The answers must
be those of walking the subtree (the generic code), on the whole bundled release, and a block named as
its one category (section B10 holding category B10) must sit in the tree as one concept."""

from __future__ import annotations

import random
from typing import Any

import pytest
import requests

from plugin.content.icd10cm import URL, cached_tabular
from plugin.content.icd10cm_view import CompactView
from plugin.terminology.model.codesystem import CodeSystemView


@pytest.fixture(scope="module")
def view() -> CompactView:
    resource, _ = cached_tabular()
    return CompactView(resource)


def walked(view: CompactView, code: str, include_self: bool, text: str) -> list[str]:
    """The reference: walk the subtree through the children lists, keep the text matches."""
    hits = view.text_index().search(text)
    below = CodeSystemView.descendants(view, code)  # the generic depth-first walk
    return [c for c in ([code] if include_self else []) + below if c in hits]


@pytest.mark.parametrize("code", ["19", "1", "B10", "J96", "10", "T80-T88", "E08.32", "S72.001"])
def test_text_in_subtree_equals_the_walk(view: CompactView, code: str) -> None:
    for text in ("left", "unspecified", "initial encounter", "fracture", "herpes", "hypercapnia", "B10.81"):
        for include_self in (True, False):
            found = view.text_in_subtree(code, include_self, text)
            assert found is not None
            assert [c.code for c in found] == walked(view, code, include_self, text), (code, text)
    assert view.descendants(code) == CodeSystemView.descendants(view, code)


def test_descendants_and_ancestors_agree_with_the_walk(view: CompactView) -> None:
    index = view.text_index()
    for code in [*view.roots, *random.Random(7).sample(index.codes, 300)]:
        assert view.descendants(code) == CodeSystemView.descendants(view, code), code
        assert view.ancestors(code) == CodeSystemView.ancestors(view, code), code


def test_a_category_inside_its_namesake_block_is_one_concept_under_the_chapter(view: CompactView) -> None:
    # The tabular's section "B10" holds only category B10 (other human herpesviruses).
    b10 = view.locate("B10")
    assert b10 is not None and b10.parents == ["1"] and b10.children == ["B10.0", "B10.8"]
    assert view.ancestors("B10.81") == {"B10.8", "B10", "1"}
    assert "B10.81" in view.descendants("1")
    found = [c.code for c in view.text_in_subtree("1", True, "herpesvirus 7")]  # type: ignore[union-attr]
    assert "B10.82" in found and found == walked(view, "1", True, "herpesvirus 7")


@pytest.fixture
def fhir(live_server) -> str:
    return live_server.url + "/fhir"


def expand(fhir: str, **params: Any) -> dict[str, Any]:
    response = requests.get(f"{fhir}/ValueSet/$expand", params=params, timeout=60)
    assert response.status_code == 200, response.text[:300]
    return response.json()["expansion"]


def test_expand_pages_an_is_a_text_search_in_code_system_order(fhir: str, view: CompactView) -> None:
    implicit = f"{URL}?fhir_vs=isa/19"
    every = walked(view, "19", True, "femur fracture")
    first = expand(fhir, url=implicit, filter="femur fracture", count=20)
    second = expand(fhir, url=implicit, filter="femur fracture", count=20, offset=20)
    assert first["total"] == second["total"] == len(every) > 1000
    assert [c["code"] for c in first["contains"] + second["contains"]] == every[:40]
    # All on one page: each code under its parent when the parent is in the expansion (none here).
    nested = expand(fhir, url=f"{URL}?fhir_vs=isa/J96", filter="hypercapnia")
    every = walked(view, "J96", True, "hypercapnia")
    assert "J96.02" in every and "J96.01" not in every
    assert nested["total"] == len(every) and [c["code"] for c in nested["contains"]] == every


def test_validate_code_in_an_is_a_value_set_over_a_namesake_block(fhir: str) -> None:
    answer = requests.get(
        f"{fhir}/ValueSet/$validate-code",
        params={"url": f"{URL}?fhir_vs=isa/1", "system": URL, "code": "B10.81"},
        timeout=60,
    ).json()
    assert next(p["valueBoolean"] for p in answer["parameter"] if p["name"] == "result") is True


def test_warm__builds_the_word_index_and_the_subtree_spans_before_any_query() -> None:
    resource, _ = cached_tabular()
    fresh = CompactView(resource)
    assert fresh._ends is None and fresh._text_index is None
    fresh.warm()
    assert fresh._ends is not None and fresh._text_index is not None


def test_prefork_warmup__warms_the_served_icd10cm_view(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from plugin.app import create_app
    from plugin.serving import run_warmups

    warmed: list[str] = []
    monkeypatch.setattr(CompactView, "warm", lambda self: warmed.append(self.url))
    app = create_app({"storage": {"url": f"sqlite:///{tmp_path / 'w.db'}"}})
    run_warmups(app)
    assert URL in warmed
