"""`cpt-plugin content build` with the CMS HCPCS Level II file: the excerpt (real records of the 2020
alpha-numeric file) gives the modifiers and Level II codes the product uses, with the release stamp;
the HCPCS CodeSystem fragment follows it; a changed modifier shows in the diff; a wrong or cut record
stops the build with file and line and writes nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from plugin.cli import main
from plugin.content.releases import ReleaseError, read_release

ROOT = Path(__file__).resolve().parents[2]
RELEASES = ROOT / "tests" / "data" / "releases"
FACTS = ROOT / "cds_hooks" / "facts"
HCPCS_FILE = "HCPC2020_ANWEB_w_disclaimer_excerpt.txt"
FRAGMENT = ROOT / "fhir_bundles" / "codesystems" / "hcpcs-modifiers-fragment.json"
PUBLISHED = {"XE", "XS", "XP", "XU", "LT", "RT", "AS", "TC", "FT", "GC", "CA", "Q0", "Q1", "PO", "PN", "ER"}


@pytest.fixture
def work(tmp_path: Path) -> dict[str, Path]:
    releases, facts = tmp_path / "releases", tmp_path / "facts"
    shutil.copytree(RELEASES, releases)
    shutil.copytree(FACTS, facts)
    fragment = tmp_path / "hcpcs-modifiers-fragment.json"
    shutil.copy(FRAGMENT, fragment)
    cpt = tmp_path / "cpt-ecmo-fragment.json"
    shutil.copy(ROOT / "fhir_bundles" / "codesystems" / "cpt-ecmo-fragment.json", cpt)
    return {"releases": releases, "facts": facts, "fragment": fragment, "cpt": cpt, "reports": tmp_path / "r"}


def build(work: dict[str, Path], *extra: str) -> int:
    paths = ["--facts", work["facts"], "--hcpcs-fragment", work["fragment"], "--cpt-fragment", work["cpt"]]
    return main(
        [
            "content",
            "build",
            str(work["releases"]),
            *map(str, paths),
            "--report-dir",
            str(work["reports"]),
            *extra,
        ]
    )


def edit(work: dict[str, Path], change) -> Path:
    path = work["releases"] / HCPCS_FILE
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
    return path


def record(text: str, code: str) -> str:
    """The first record line of a code (modifiers are right-aligned in positions 1-5)."""
    return next(line for line in text.splitlines() if line[:5].strip() == code and line[10] in "37")


def test_the_reader_joins_continuations_and_stamps_the_release() -> None:
    table = read_release(RELEASES / HCPCS_FILE)
    assert (table.release.stamp, table.release.effective) == ("HCPCS 2020-Q1", "2020-01-01")
    rows = {row["code"]: row for row in table.rows}
    xe = rows["XE"]
    assert xe["kind"] == "modifier" and xe["shortDescription"] == "Separate encounter"
    assert xe["longDescription"] == (
        "Separate encounter, a service that is distinct because it occurred during a separate encounter"
    )
    assert (xe["added"], xe["actionEffective"], xe["terminated"], xe["actionCode"]) == (
        "2015-01-01", "2015-01-01", None, "N"
    )  # fmt: skip
    assert rows["TC"]["longDescription"].endswith(
        "will then be used to build customary and prevailing profiles"
    )
    assert rows["G0463"]["kind"] == "procedure" and rows["G0471"]["added"] == "2014-04-01"
    assert (rows["GD"]["terminated"], rows["GD"]["actionCode"]) == ("2019-12-31", "D")


def test_the_built_table_holds_the_modifiers_and_level_two_codes_the_product_uses() -> None:
    table = json.loads((FACTS / "hcpcs-level-ii.json").read_text())
    assert table["release"]["stamp"] == "HCPCS 2020-Q1" and table["asOf"] == "2020-01-01"
    assert table["source"]["id"] == "cms-hcpcs-2020"
    # Every published modifier but FT (added to HCPCS after 2020); no modifier the product does not use.
    assert set(table["modifiers"]) == PUBLISHED - {"FT"} and table["notInRelease"] == ["FT"]
    assert {m["status"] for m in table["modifiers"].values()} == {"active"}
    # The Level II codes the PTP table of the family names.
    assert set(table["codes"]) == {"G0463", "G0471"}
    fragment = json.loads(FRAGMENT.read_text())
    assert {c["code"] for c in fragment["concept"]} == PUBLISHED
    xe = next(c for c in fragment["concept"] if c["code"] == "XE")
    assert {"code": "status", "valueCode": "active"} in xe["property"]
    assert {"code": "effectiveDate", "valueDateTime": "2015-01-01"} in xe["property"]
    declared = {p["code"]: p for p in fragment["property"]}
    assert "HCPCS 2020-Q1" in declared["status"]["description"]
    assert declared["status"]["uri"] == "http://hl7.org/fhir/concept-properties#status"


def test_a_terminated_or_dropped_modifier_shows_in_the_diff_and_the_fragment(
    work: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    def change(text: str) -> str:
        xe = record(text, "XE")
        ended = xe[:284] + "20191231" + "D" + xe[293:]
        kept = [line for line in text.splitlines(keepends=True) if line[:5].strip() != "XU"]
        return "".join(kept).replace(xe, ended)

    edit(work, change)
    assert build(work, "--check") == 1  # the tables and the fragment in place no longer match
    assert build(work, "--diff") == 0
    err = capsys.readouterr().err
    assert "XE is terminated (2019-12-31)" in err and "not in HCPCS 2020-Q1: FT, XU" in err
    report = json.loads((work["reports"] / "content-diff.json").read_text())
    modifiers = report["hcpcs"]["modifiers"]
    assert modifiers["removed"] == ["XU"] and modifiers["added"] == []
    assert modifiers["changed"] == {
        "XE": [
            {"field": "actionCode", "from": "N", "to": "D"},
            {"field": "status", "from": "active", "to": "retired"},
            {"field": "terminated", "from": None, "to": "2019-12-31"},
        ]
    }
    fhir = report["fhir"]["hcpcs-modifiers-fragment.json"]
    assert {"code": "XE", "property": "status", "from": "active", "to": "retired"} in fhir
    assert {"code": "XE", "property": "retirementDate", "from": None, "to": "2019-12-31"} in fhir
    markdown = (work["reports"] / "content-diff.md").read_text()
    assert "XE: actionCode N -> D; status active -> retired" in markdown
    assert "Not in the release any more (1): XU" in markdown
    xe = next(c for c in json.loads(work["fragment"].read_text())["concept"] if c["code"] == "XE")
    assert {"code": "status", "valueCode": "retired"} in xe["property"]
    assert "bypass modifier XE is retired" in err and "bypass modifier XU is not listed" in err


def test_the_published_fragment_and_table_agree_with_the_excerpt(work: dict[str, Path]) -> None:
    assert build(work, "--check") == 0
    work["fragment"].write_text(work["fragment"].read_text().replace('"2015-01-01"', '"2014-01-01"', 1))
    assert build(work, "--check") == 1


def snapshot(work: dict[str, Path]) -> dict[str, bytes]:
    files = sorted(work["facts"].glob("*.json")) + [work["fragment"], work["cpt"]]
    return {p.name: p.read_bytes() for p in files}


def _cut(text: str) -> str:
    line = record(text, "LT")
    return text.replace(line, line[:200])


def _orphan(text: str) -> str:
    return text.replace(record(text, "PN") + "\n", "")


def _date(text: str) -> str:
    line = record(text, "RT")
    return text.replace(line, line[:268] + "19841301" + line[276:])


def _action(text: str) -> str:
    line = record(text, "TC")
    return text.replace(line, line[:292] + "9" + line[293:])


def _kind(text: str) -> str:
    line = record(text, "G0463")
    return text.replace(line, line[:10] + "7" + line[11:])


def _stray(text: str) -> str:
    return text.replace(record(text, "GC"), "GC,Resident/teaching phys serv")


@pytest.mark.parametrize(
    ("change", "line", "problem"),
    [
        (_cut, 23, "LT: record ends at 200 characters, before the action code in position 293 (truncated?)"),
        (_orphan, 24, "continuation record PN 00200 does not follow its first record"),
        (_date, 32, "RT added date (269-276) '19841301' is not a calendar date"),
        (_action, 33, "TC: action code '9' (position 293) is not a letter"),
        (_kind, 48, "record id 7 needs a modifier in positions 4-5, found 'G0463'"),
        (_stray, 19, "not an HCPCS record"),
    ],
)
def test_a_wrong_or_cut_record_names_file_and_line_and_writes_nothing(
    work: dict[str, Path], capsys: pytest.CaptureFixture[str], change, line: int, problem: str
) -> None:
    edit(work, change)
    before = snapshot(work)
    assert build(work) == 1
    err = capsys.readouterr().err
    assert f"{HCPCS_FILE}:{line}: " in err and problem in err and "nothing written" in err
    assert snapshot(work) == before
    assert not list(work["facts"].glob(".building-*"))


def test_the_release_comes_from_the_name_cms_gives_a_quarterly_file(tmp_path: Path) -> None:
    text = (RELEASES / HCPCS_FILE).read_text(encoding="utf-8")
    records = "".join(line + "\n" for line in text.splitlines() if line[5:10].isdigit())
    quarterly = tmp_path / "HCPC2024_APR_ANWEB_v2.txt"
    quarterly.write_text(records, encoding="utf-8")
    release = read_release(quarterly).release
    assert (release.stamp, release.effective) == ("HCPCS 2024-Q2", "2024-04-01")
    unnamed = tmp_path / "level2.txt"
    unnamed.write_text(records, encoding="utf-8")
    with pytest.raises(ReleaseError, match="level2.txt: cannot tell the release year"):
        read_release(unnamed)
    mismatched = tmp_path / "HCPC2021_ANWEB.txt"
    mismatched.write_text(text, encoding="utf-8")
    with pytest.raises(ReleaseError, match="the name says 2021, the note says 2020"):
        read_release(mismatched)
