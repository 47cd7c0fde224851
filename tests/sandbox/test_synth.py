"""Synthetic scenario patients: deterministic, valid FHIR R4, and covering every rule path."""

from __future__ import annotations

import datetime as dt
import filecmp
import json
from pathlib import Path

from fhir.resources.R4B.bundle import Bundle

from plugin.cli import main
from plugin.dates import age_parts as age_on
from plugin.sandbox import synth
from plugin.sandbox.bundles import dumps, get_scenario, server_view
from plugin.sandbox.scenarios import SPECS

from .conftest import SYNTHETIC

AS_OF = dt.date(2026, 11, 25)


def _patient(bundle: dict) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")


def test_synth__same_seed_twice__byte_identical_files(tmp_path: Path) -> None:
    assert main(["synth", "--seed", "1", "--as-of", "2026-11-25", "--out", str(tmp_path / "a")]) == 0
    assert main(["synth", "--seed", "1", "--as-of", "2026-11-25", "--out", str(tmp_path / "b")]) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(names) == len(SPECS)
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", names, shallow=False)
    assert (mismatch, errors) == ([], [])
    assert len(match) == len(SPECS)


def test_synth__different_seed__different_patients() -> None:
    one, two = synth.generate(1, AS_OF), synth.generate(2, AS_OF)
    assert one.keys() == two.keys()
    for name in one:
        assert dumps(one[name]) != dumps(two[name])
        assert _patient(one[name])["id"] != _patient(two[name])["id"]


def test_synth__committed_default_set_is_seed_1_as_of_2026_11_25(tmp_path: Path) -> None:
    main(["synth", "--seed", "1", "--as-of", "2026-11-25", "--out", str(tmp_path)])
    committed = sorted(p.name for p in SYNTHETIC.glob("*.json"))
    assert committed == sorted(p.name for p in tmp_path.iterdir())
    for name in committed:
        assert (SYNTHETIC / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_synth__every_bundle_validates_as_fhir_r4_transaction() -> None:
    for path in sorted(SYNTHETIC.glob("*.json")):
        data = json.loads(path.read_text())
        Bundle.model_validate(data)
        assert data["type"] == "transaction"
        for entry in data["entry"]:
            resource = entry["resource"]
            assert entry["request"] == {
                "method": "PUT",
                "url": f"{resource['resourceType']}/{resource['id']}",
            }
            assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"


def test_synth__references_resolve_within_the_bundle() -> None:
    for path in sorted(SYNTHETIC.glob("*.json")):
        bundle = json.loads(path.read_text())
        held = {f"{r['resourceType']}/{r['id']}" for r in server_view(bundle)}
        text = json.dumps(server_view(bundle))
        assert "urn:uuid:" not in text, path.name
        refs = [r for r in _all_refs(server_view(bundle))]
        assert refs and all(ref in held for ref in refs), path.name


def _all_refs(node: object) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_all_refs(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_all_refs(item))
    return found


def test_synth__scenario_metadata_survives_the_file_and_names_the_cards() -> None:
    seen = set()
    for path in sorted(SYNTHETIC.glob("*.json")):
        scenario = get_scenario(json.loads(path.read_text()))
        assert scenario is not None and scenario.name == path.stem
        seen.add(scenario.name)
        for card in scenario.expected:
            assert card.topic in {
                "age-criteria",
                "documentation",
                "coding-edit",
                "site-of-service",
                "payer-policy",
                "data-quality",
            }
            assert card.indicator in {"info", "warning", "critical"}
    assert seen == {spec.name for spec in SPECS}


def test_synth__birthday_edges__ages_on_the_order_date() -> None:
    bundles = synth.generate(1, AS_OF)

    def age(name: str) -> tuple[int, int, int]:
        scenario = get_scenario(bundles[name])
        birth = dt.date.fromisoformat(_patient(bundles[name])["birthDate"])
        a = age_on(birth, dt.date.fromisoformat(scenario.order_date))
        return a.years, a.months, a.days

    assert age("under6-day-before-6th-birthday") == (5, 11, 30)
    assert age("sixth-birthday-day-of") == (6, 0, 0)
    assert _patient(bundles["leap-day-birthday-feb28"])["birthDate"] == "2020-02-29"
    assert get_scenario(bundles["leap-day-birthday-feb28"]).order_date == "2026-02-28"
    assert age("leap-day-birthday-feb28")[0] == 5
    assert get_scenario(bundles["leap-day-birthday-mar01"]).order_date == "2026-03-01"
    assert age("leap-day-birthday-mar01")[0] == 6
    assert _patient(bundles["partial-birthdate-year-only"])["birthDate"] == "2020"
    assert _patient(bundles["partial-birthdate-year-month"])["birthDate"] == "2020-11"
    assert "birthDate" not in _patient(bundles["missing-birthdate"])


def test_synth__scenarios_cover_orders_payers_and_settings() -> None:
    bundles = synth.generate(1, AS_OF)

    def resources(name: str, kind: str) -> list[dict]:
        return [e["resource"] for e in bundles[name]["entry"] if e["resource"]["resourceType"] == kind]

    def codes(name: str) -> list[str]:
        return [sr["code"]["coding"][0]["code"] for sr in resources(name, "ServiceRequest")]

    assert codes("fluoroscopy-76000-alongside") == ["33952", "76000"]
    assert codes("fluoroscopic-guidance-77001-alongside") == ["33952", "77001"]
    assert codes("addon-33987-alongside") == ["33952", "33987"]
    assert codes("reposition-33958-alongside") == ["33952", "33958"]
    assert resources("quantity-2", "ServiceRequest")[0]["quantityQuantity"] == {"value": 2}
    office = resources("office-setting", "ServiceRequest")[0]["locationCode"][0]["coding"][0]
    assert office["code"] == "11"
    assert resources("missing-consent", "Consent") == []
    conditions = resources("missing-indication", "Condition")
    assert [c["clinicalStatus"]["coding"][0]["code"] for c in conditions] == ["resolved"]
    payors = {resources(name, "Coverage")[0]["payor"][0]["display"] for name in bundles}
    assert {
        "Medicare Part B",
        "Aetna",
        "Blue Cross Blue Shield of Massachusetts",
        "Cigna",
        "UnitedHealthcare",
        "Acme Health Plan",
    } <= payors
    for name in bundles:
        for order in resources(name, "ServiceRequest"):
            assert order["status"] == "draft"


def test_synth__committed_set_passes_cpt_plugin_validate(capsys) -> None:
    assert main(["validate", "--only", "--warnings", str(SYNTHETIC)]) == 0
    out = capsys.readouterr().out
    assert "0 errors" in out and f"{len(SPECS)} files" in out


def test_synth__indication_codes_are_in_the_published_ecmo_valueset() -> None:
    from plugin.sandbox.codes import ICD10CM, INDICATIONS

    valueset = json.loads((SYNTHETIC.parent / "valuesets" / "ecmo-indications-icd10cm.json").read_text())
    assert valueset["url"] == "https://fhir.cpt-plugin.org/ValueSet/ecmo-indications-icd10cm"
    listed = {
        (include["system"], concept["code"]): concept["display"]
        for include in valueset["compose"]["include"]
        for concept in include.get("concept", [])
    }
    for code, title in INDICATIONS:
        assert listed.get((ICD10CM, code)) == title, code
