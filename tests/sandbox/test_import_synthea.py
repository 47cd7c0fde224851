"""Importing real Synthea bundles: the age on the order date is as asked, the record is intact."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from plugin.cli import main
from plugin.dates import age_parts as age_on
from plugin.sandbox.bundles import get_scenario
from plugin.sandbox.timeshift import collect_dates

from .conftest import synthea_files

ORDER = "2026-11-25"


def _of(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


@pytest.mark.parametrize(
    ("spec", "years", "months", "wants_age_card"), [("5y11m", 5, 11, True), ("40y", 40, 0, False)]
)
def test_import__every_synthea_sample__age_on_order_date_exactly(
    tmp_path: Path, spec: str, years: int, months: int, wants_age_card: bool
) -> None:
    files = synthea_files()
    code = main(
        ["import", *map(str, files), "--age-on-order", spec, "--order-date", ORDER, "--out", str(tmp_path)]
    )
    assert code == 0
    for source_path in files:
        out = tmp_path / f"{source_path.stem}--{spec}.json"
        source, bundle = json.loads(source_path.read_text()), json.loads(out.read_text())
        Bundle.model_validate(bundle)

        patient = _of(bundle, "Patient")[0]
        age = age_on(dt.date.fromisoformat(patient["birthDate"]), dt.date.fromisoformat(ORDER))
        assert (age.years, age.months, age.days) == (years, months, 0), source_path.name

        # Intact: the same resources, ids and (apart from dates) content, plus the three added ones.
        assert bundle["entry"][: len(source["entry"])] != source["entry"]
        assert [e["resource"]["id"] for e in bundle["entry"][: len(source["entry"])]] == [
            e["resource"]["id"] for e in source["entry"]
        ]
        added = [e["resource"]["resourceType"] for e in bundle["entry"][len(source["entry"]) :]]
        assert added == ["Coverage", "Encounter", "ServiceRequest"]
        shift = {
            (dt.date.fromisoformat(new[:10]) - dt.date.fromisoformat(old[:10])).days
            for (_, old), (_, new) in zip(collect_dates(source), collect_dates(bundle), strict=False)
            if len(old) >= 10
        }
        assert len(shift) == 1, source_path.name

        order = _of(bundle, "ServiceRequest")[-1]
        assert order["status"] == "draft" and order["code"]["coding"][0]["code"] == "33952"
        assert order["occurrenceDateTime"] == ORDER
        scenario = get_scenario(bundle)
        assert scenario.order_date == ORDER and scenario.selection == order["id"]
        if wants_age_card:
            assert [(c.topic, c.indicator) for c in scenario.expected] == [("age-criteria", "warning")]
            assert scenario.absent_topics == []
        else:
            assert scenario.expected == [] and scenario.absent_topics == ["age-criteria"]


def test_import__coverage_derived_from_claim_and_eob(tmp_path: Path) -> None:
    files = synthea_files()
    main(["import", *map(str, files), "--age-on-order", "40y", "--order-date", ORDER, "--out", str(tmp_path)])
    seen = set()
    for source_path in files:
        bundle = json.loads((tmp_path / f"{source_path.stem}--40y.json").read_text())
        patient_url = next(
            e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
        )
        coverage = _of(bundle, "Coverage")
        assert len(coverage) == 1
        coverage = coverage[0]
        derived = coverage["extension"][0]["valueString"]
        kind, rid = derived.split("/")
        assert kind in ("ExplanationOfBenefit", "Claim")
        assert rid in {r["id"] for r in _of(bundle, kind)}
        assert coverage["status"] == "active" and coverage["beneficiary"]["reference"] == patient_url
        eob = next(r for r in _of(bundle, kind) if r["id"] == rid)
        synthea_payer = eob.get("insurer", {}).get("display")
        if synthea_payer == "no_insurance":
            assert coverage["type"]["coding"][0]["code"] == "pay"
            assert coverage["payor"][0]["reference"] == patient_url
        else:
            assert coverage["payor"][0]["display"] == synthea_payer
        seen.add(synthea_payer)
    assert seen == {"private", "no_insurance"}


def test_import__shift_to_date__record_ends_on_that_date(tmp_path: Path) -> None:
    source_path = synthea_files()[1]
    assert main(["import", str(source_path), "--shift-to", ORDER, "--out", str(tmp_path)]) == 0
    bundle = json.loads((tmp_path / f"{source_path.stem}--to-{ORDER}.json").read_text())
    Bundle.model_validate(bundle)
    original = [
        e for e in bundle["entry"] if e["resource"]["resourceType"] not in ("Coverage", "ServiceRequest")
    ]
    latest = max(v[:10] for _, v in collect_dates({"entry": original[:-1]}) if len(v) >= 10)
    assert latest == ORDER
    assert get_scenario(bundle).order_date == ORDER


def test_import__same_file_twice__same_bytes(tmp_path: Path) -> None:
    source_path = synthea_files()[0]
    for out in ("a", "b"):
        main(
            [
                "import",
                str(source_path),
                "--age-on-order",
                "5y11m",
                "--order-date",
                ORDER,
                "--out",
                str(tmp_path / out),
            ]
        )
    name = f"{source_path.stem}--5y11m.json"
    assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_import__bad_age_or_file__clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(synthea_files()[0]), "--age-on-order", "five", "--out", str(tmp_path)]) == 2
    assert "not like 5y11m" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text('{"resourceType": "Patient"}')
    assert main(["import", str(broken), "--age-on-order", "5y", "--out", str(tmp_path / "o")]) == 1
    assert "not a FHIR Bundle" in capsys.readouterr().err


def test_import__imported_bundles_pass_cpt_plugin_validate(tmp_path: Path, capsys) -> None:
    files = [str(p) for p in synthea_files()]
    main(
        ["import", *files, "--age-on-order", "5y11m", "--order-date", ORDER, "--out", str(tmp_path / "young")]
    )
    main(["import", *files, "--age-on-order", "40y", "--order-date", ORDER, "--out", str(tmp_path / "adult")])
    capsys.readouterr()
    assert main(["validate", "--only", "--warnings", str(tmp_path / "young"), str(tmp_path / "adult")]) == 0
    assert "; 0 errors, 0 warnings" in capsys.readouterr().out
