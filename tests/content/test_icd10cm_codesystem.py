"""ICD-10-CM served from the CDC tabular XML: the loader's hierarchy, billable flags and 7th characters,
its errors, and the terminology operations on the full bundled release over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from plugin.cli import main
from plugin.content.icd10cm import URL, TabularError, load_tabular

EXCERPT = (
    Path(__file__).resolve().parents[1] / "data" / "releases" / "icd10cm-tabular-excerpt-April-1-2026.xml"
)
MAP = Path(__file__).resolve().parents[2] / "fhir_bundles" / "conceptmaps"


def concepts(system: dict[str, Any]) -> dict[str, tuple[dict[str, Any], str | None]]:
    """code -> (concept, parent code)."""
    found: dict[str, tuple[dict[str, Any], str | None]] = {}

    def walk(items: list[dict[str, Any]], parent: str | None) -> None:
        for item in items:
            found[item["code"]] = (item, parent)
            walk(item.get("concept", []), item["code"])

    walk(system["concept"], None)
    return found


def props(concept: dict[str, Any]) -> dict[str, Any]:
    return {p["code"]: p.get("valueCode", p.get("valueBoolean")) for p in concept["property"]}


def test_the_excerpt_loads_with_chapters_blocks_categories_and_codes() -> None:
    system = load_tabular(EXCERPT, minimum=1)
    assert (system["url"], system["version"], system["content"]) == (URL, "2026-04", "complete")
    found = concepts(system)
    assert found["J96.0"][1] == "J96" and found["J96"][1] == "J96-J99" and found["J96-J99"][1] == "10"
    assert props(found["10"][0]) == {"kind": "chapter", "billable": False, "notSelectable": True}
    assert props(found["J96"][0])["kind"] == "category"
    assert props(found["J96.0"][0]) == {"kind": "code", "billable": False, "notSelectable": True}
    assert props(found["J96.01"][0]) == {"kind": "code", "billable": True}
    assert found["J96.01"][0]["display"] == "Acute respiratory failure with hypoxia"
    assert system["count"] == len(found)


def test_seventh_characters_complete_the_codes_below_their_definition() -> None:
    found = concepts(load_tabular(EXCERPT, minimum=1))
    # E08.32 defines 1/2/3/9 (eye); its subcodes take them and become headers.
    assert [c["code"] for c in found["E08.321"][0]["concept"]] == [
        "E08.3211",
        "E08.3212",
        "E08.3213",
        "E08.3219",
    ]
    assert found["E08.3212"][0]["display"].endswith(", left eye")
    assert props(found["E08.3212"][0])["billable"] is True
    assert props(found["E08.321"][0])["billable"] is False


def test_a_cut_file_or_another_xml_is_refused_with_its_name(tmp_path: Path) -> None:
    cut = tmp_path / "icd10cm-tabular-2027.xml"
    cut.write_text(EXCERPT.read_text()[:3000])
    with pytest.raises(TabularError, match="icd10cm-tabular-2027.xml: not well-formed XML"):
        load_tabular(cut, minimum=1)
    other = tmp_path / "other.xml"
    other.write_text("<?xml version='1.0'?><ClaML><version>2026</version></ClaML>")
    with pytest.raises(TabularError, match="not ICD10CM.tabular"):
        load_tabular(other, minimum=1)
    with pytest.raises(TabularError, match="truncated or not the full tabular"):
        load_tabular(EXCERPT)


def test_the_command_loads_a_given_tabular_and_writes_the_codesystem(tmp_path: Path, capsys) -> None:
    out = tmp_path / "icd.json"
    assert main(["content", "icd10cm", str(tmp_path / "missing.xml")]) == 1
    assert "missing.xml" in capsys.readouterr().err
    bundled = main(["content", "icd10cm", "--write", str(out)])
    assert bundled == 0 and "concepts" in capsys.readouterr().out
    written = json.loads(out.read_text())
    assert written["url"] == URL and written["count"] > 90_000


@pytest.fixture
def fhir(live_server) -> str:
    return live_server.url + "/fhir"


def parameters(body: dict[str, Any]) -> dict[str, Any]:
    return {
        p["name"]: p.get("valueString", p.get("valueBoolean", p.get("valueCode"))) for p in body["parameter"]
    }


def test_lookup_answers_display_and_parent(fhir: str) -> None:
    response = requests.get(f"{fhir}/CodeSystem/$lookup", params={"system": URL, "code": "J80"}, timeout=60)
    assert response.status_code == 200
    body = response.json()
    assert parameters(body)["display"] == "Acute respiratory distress syndrome"
    parents = [
        {part["name"]: part for part in p["part"]}
        for p in body["parameter"]
        if p["name"] == "property" and p["part"][0].get("valueCode") == "parent"
    ]
    assert [p["value"]["valueCode"] for p in parents] == ["J80-J84"]
    billable = [
        p for p in body["parameter"] if p["name"] == "property" and p["part"][0]["valueCode"] == "billable"
    ]
    assert billable[0]["part"][1]["valueBoolean"] is True


def test_expand_is_a_under_j96_pages_with_a_total(fhir: str) -> None:
    implicit = f"{URL}?fhir_vs=isa/J96"
    first = requests.get(f"{fhir}/ValueSet/$expand", params={"url": implicit, "count": 5}, timeout=60).json()
    second = requests.get(
        f"{fhir}/ValueSet/$expand", params={"url": implicit, "count": 5, "offset": 5}, timeout=60
    ).json()
    # J96 itself, J96.0/.1/.2/.9 and their three subcodes each (FY2026 tabular).
    assert first["expansion"]["total"] == second["expansion"]["total"] == 17
    codes = [c["code"] for c in first["expansion"]["contains"] + second["expansion"]["contains"]]
    assert len(codes) == len(set(codes)) == 10
    assert all(code.startswith("J96") for code in codes)
    filtered = requests.get(
        f"{fhir}/ValueSet/$expand", params={"url": implicit, "filter": "hypercapnia"}, timeout=60
    ).json()
    found = {c["code"]: c["display"] for c in filtered["expansion"]["contains"]}
    assert {"J96.02", "J96.12", "J96.22", "J96.92"} <= found.keys() and "J96.01" not in found
    assert all("hypercapnia" in display for display in found.values())


def test_validate_code_and_subsumes(fhir: str) -> None:
    valid = requests.get(
        f"{fhir}/CodeSystem/$validate-code", params={"url": URL, "code": "J96.01"}, timeout=60
    )
    assert parameters(valid.json())["result"] is True
    unknown = requests.get(
        f"{fhir}/CodeSystem/$validate-code", params={"url": URL, "code": "J96.7"}, timeout=60
    )
    assert parameters(unknown.json())["result"] is False
    subsumes = requests.get(
        f"{fhir}/CodeSystem/$subsumes", params={"system": URL, "codeA": "J96", "codeB": "J96.01"}, timeout=60
    )
    assert parameters(subsumes.json())["outcome"] == "subsumes"


def test_every_indication_map_target_validates_against_the_code_system(fhir: str) -> None:
    targets = [
        target["code"]
        for path in MAP.glob("*.json")
        for group in json.loads(path.read_text()).get("group", [])
        if group.get("target") == URL
        for element in group["element"]
        for target in element.get("target", [])
        if "code" in target
    ]
    assert len(targets) > 40
    for code in sorted(set(targets)):
        answer = requests.get(
            f"{fhir}/CodeSystem/$validate-code", params={"url": URL, "code": code}, timeout=60
        )
        assert parameters(answer.json())["result"] is True, code


def test_the_lean_index_answers_as_the_generic_index_does() -> None:
    from plugin.content.icd10cm_view import CompactView, compact_view
    from plugin.terminology.model.codesystem import CodeSystemView

    system = load_tabular(EXCERPT, minimum=1)
    lean, full = CompactView(system), CodeSystemView(system)
    assert compact_view(system) is None  # only resources this process loaded from a tabular
    assert list(lean.concepts) == list(full.concepts) and lean.roots == full.roots
    for code in full.concepts:
        a, b = lean.locate(code), full.locate(code)
        assert (a.display, a.parents, a.children, lean.is_abstract(a)) == (
            b.display, b.parents, b.children, full.is_abstract(b)
        )  # fmt: skip
        assert lean.descendants(code) == full.descendants(code) and lean.ancestors(code) == full.ancestors(
            code
        )
    assert lean.locate("j96.01") is lean.locate("J96.01") and lean.locate("J96.7") is None
    for text in ("hypercapnia", "acute resp", "left eye", "J96.0"):
        assert lean.text_index().search(text) == full.text_index().search(text), text
    assert [c.code for c in lean.text_index().matching("hypoxia")] == [
        c.code for c in full.text_index().matching("hypoxia")
    ]
    assert lean.used_property_codes() == full.used_property_codes()


def test_the_bundled_tabular__has_a_valid_codesystem_shape() -> None:
    """The registry takes the loader's CodeSystem without its shape check (`built=True`): the shape is
    checked here, once, on the whole bundled release."""
    from plugin.content.icd10cm import cached_tabular
    from plugin.terminology.model import shape

    resource, _ = cached_tabular()
    assert shape.problems(resource) == []
