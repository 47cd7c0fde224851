"""`cpt-plugin content build`: the committed release excerpts regenerate the committed fact tables byte
for byte; a changed release shows in the diff; a wrong or cut file stops the build with file and line
and writes nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from plugin.cli import main
from plugin.content.releases import ReleaseError, read_release
from plugin.content.releases.build import FILE_NAMES

ROOT = Path(__file__).resolve().parents[2]
RELEASES = ROOT / "tests" / "data" / "releases"
FACTS = ROOT / "cds_hooks" / "facts"
BUILT = set(FILE_NAMES.values()) - {"ncci-ptp-outpatient-hospital.json"}


@pytest.fixture
def releases(tmp_path: Path) -> Path:
    folder = tmp_path / "releases"
    shutil.copytree(RELEASES, folder)
    return folder


@pytest.fixture
def facts(tmp_path: Path) -> Path:
    folder = tmp_path / "facts"
    shutil.copytree(FACTS, folder)
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.json"))}


def test_the_excerpts_rebuild_the_committed_tables_byte_for_byte(releases: Path, tmp_path: Path) -> None:
    # A folder holding only the tables that are not built (payers, POS, family) plus nothing else:
    # the build must recreate every built table exactly as committed.
    empty = tmp_path / "fresh"
    empty.mkdir()
    for path in FACTS.glob("*.json"):
        if path.name not in BUILT:
            shutil.copy(path, empty / path.name)
    assert main(["content", "build", str(releases), "--facts", str(empty)]) == 0
    assert snapshot(empty) == snapshot(FACTS)
    assert main(["content", "build", str(RELEASES), "--check"]) == 0


def test_tables_carry_release_stamps_and_national_amounts() -> None:
    ptp = json.loads((FACTS / "ncci-ptp-practitioner.json").read_text())
    mue = json.loads((FACTS / "ncci-mue.json").read_text())
    pfs = json.loads((FACTS / "pfs-indicators.json").read_text())
    aoc = json.loads((FACTS / "ncci-aoc.json").read_text())
    assert ptp["release"]["stamp"] == "NCCI PTP 2024-Q3" and ptp["asOf"] == "2024-07-01"
    assert mue["release"]["stamp"] == "NCCI MUE 2024-Q3"
    assert aoc["release"]["stamp"] == "NCCI AOC 2024-Q2"
    assert pfs["release"]["stamp"] == "PFS RVU 2023-A" and pfs["asOf"] == "2023-01-30"
    # 12.48 total facility RVUs x 33.8872 = 422.92... rounded to cents; no office price (NA).
    assert pfs["codes"]["33952"]["nationalPayment"] == {
        "facility": "422.91",
        "nonFacility": None,
        "conversionFactor": "33.8872",
        "amount": "422.91",
        "setting": "facility",
        "currency": "USD",
        "release": "PFS RVU 2023-A",
        "asOf": "2023-01-30",
    }
    assert "before geographic (GPCI) adjustment" in pfs["caveat"]
    assert pfs["codes"]["33987"]["global"] == "ZZZ"
    assert {r["addOn"]: r["primaries"] for r in aoc["rows"]} == {
        "33987": ["33953", "33954", "33955", "33956"]
    }
    assert mue["outpatientHospital"]["rows"] == [
        {"codes": ["33952"], "mue": 1, "mai": "3", "rationale": "Nature of Service/Procedure",
         "note": mue["rows"][-1]["note"]}
    ]  # fmt: skip
    # No edit between 33952 and initiation, ultrasound guidance or TEE 93312 in this release.
    assert ptp["noEdit"]["codes"] == ["33946", "33947", "33948", "33949", "76937", "93312"]


def test_a_changed_release_shows_in_the_diff(releases: Path, facts: Path, tmp_path: Path) -> None:
    ptp = releases / "ccipra_v302r0_excerpt.txt"
    lines = ptp.read_text().splitlines(keepends=True)
    ptp.write_text("".join(line for line in lines if not line.startswith("33952\t76000\t")))
    mue = releases / "MCR_MUE_PractitionerServices_Eff_07-01-2024.csv"
    mue.write_text(mue.read_text().replace('33958,1,"3 Date', '33958,2,"3 Date'))
    pprrvu = releases / "PPRRVU23_JAN.csv"
    row = "33952,,,A,,8.15,2.54,NA,2.54,,1.79,12.48,12.48,0,000,0.00,0.00,0.00,2,0,{},0,0"
    pprrvu.write_text(pprrvu.read_text().replace(row.format(0), row.format(1)))
    reports = tmp_path / "reports"
    args = ["content", "build", str(releases), "--facts", str(facts), "--diff", "--report-dir", str(reports)]
    assert main(args) == 0
    report = json.loads((reports / "content-diff.json").read_text())
    deleted = report["ptp"]["ncci-ptp-practitioner"]["deleted"]
    assert deleted == [{"column1": "33952", "column2": "76000", "modifierIndicator": "1"}]
    assert report["ptp"]["ncci-ptp-practitioner"]["added"] == []
    assert report["mue"]["practitioner"] == [
        {"code": "33958", "from": "MUE 1 / MAI 3", "to": "MUE 2 / MAI 3"}
    ]
    assert report["pfs"] == {"33952": [{"field": "assistant", "from": "0", "to": "1"}]}
    markdown = (reports / "content-diff.md").read_text()
    assert "33952/76000 (mod 1)" in markdown and "33958: MUE 1 / MAI 3 -> MUE 2 / MAI 3" in markdown
    assert (
        json.loads((facts / "ncci-mue.json").read_text())["rows"]
        != json.loads((FACTS / "ncci-mue.json").read_text())["rows"]
    )


def test_a_changed_modifier_indicator_is_reported(releases: Path, facts: Path, tmp_path: Path) -> None:
    ptp = releases / "ccipra_v302r0_excerpt.txt"
    ptp.write_text(ptp.read_text().replace("33952\t77001\t\t\t*\t1\t", "33952\t77001\t\t\t*\t0\t"))
    reports = tmp_path / "r"
    assert (
        main(
            ["content", "build", str(releases), "--facts", str(facts), "--diff", "--report-dir", str(reports)]
        )
        == 0
    )
    changed = json.loads((reports / "content-diff.json").read_text())["ptp"]["ncci-ptp-practitioner"]
    assert changed["modifierIndicatorChanged"] == [
        {"column1": "33952", "column2": "77001", "from": "1", "to": "0"}
    ]


PTP_FILE, MUE_FILE = "ccipra_v302r0_excerpt.txt", "MCR_MUE_PractitionerServices_Eff_07-01-2024.csv"


@pytest.mark.parametrize(
    ("name", "edit", "where", "problem"),
    [
        ("PPRRVU23_JAN.csv", lambda t: t.replace(",,33.8872,09,0,99,0.00,0.00,0.00\n33953", "\n33953", 1),
         "PPRRVU23_JAN.csv:16", "columns, the layout has 31"),
        (PTP_FILE, lambda t: t.replace("33952\t76000\t\t\t*\t1", "33952\t76000\t\t\t*\t7"),
         f"{PTP_FILE}:", "modifier indicator '7'"),
        (PTP_FILE, lambda t: t.rsplit("\n", 3)[0] + "\n33952\t99", f"{PTP_FILE}:151",
         "columns, the layout has 7"),
        (MUE_FILE, lambda t: t.replace('33952,1,"3', '33952,one,"3'), f"{MUE_FILE}:7", "MUE value 'one'"),
        ("AOC_V2024Q2-MCR.txt", lambda t: t.replace("\t1\t", "\tI\t", 1), "AOC_V2024Q2-MCR.txt:2",
         "edit type 'I'"),
    ],
)  # fmt: skip
def test_a_wrong_or_cut_file_names_file_and_line_and_writes_nothing(
    releases: Path, facts: Path, capsys: pytest.CaptureFixture[str], name: str, edit, where: str, problem: str
) -> None:
    path = releases / name
    path.write_text(edit(path.read_text()))
    before = snapshot(facts)
    assert main(["content", "build", str(releases), "--facts", str(facts)]) == 1
    err = capsys.readouterr().err
    assert where in err and problem in err and "nothing written" in err
    assert snapshot(facts) == before
    assert not list(facts.glob(".building-*"))


def test_a_file_of_no_known_layout_is_refused(tmp_path: Path) -> None:
    stray = tmp_path / "notes.csv"
    stray.write_text("code,value\n33952,1\n")
    with pytest.raises(ReleaseError, match="not a recognised release layout"):
        read_release(stray)


def test_two_releases_of_one_table_are_refused(
    releases: Path, facts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = releases / "MCR_MUE_PractitionerServices_Eff_07-01-2024.csv"
    shutil.copy(source, releases / "MCR_MUE_PractitionerServices_Eff_10-01-2024.csv")
    assert main(["content", "build", str(releases), "--facts", str(facts)]) == 1
    assert "NCCI MUE 2024-Q4" in capsys.readouterr().err


def test_a_renamed_table_replaces_the_older_file_with_its_id(releases: Path, facts: Path) -> None:
    (facts / "ncci-mue.json").rename(facts / "mue-practitioner-2024-07-01.json")
    assert main(["content", "build", str(releases), "--facts", str(facts)]) == 0
    assert not (facts / "mue-practitioner-2024-07-01.json").exists()
    assert (facts / "ncci-mue.json").read_bytes() == (FACTS / "ncci-mue.json").read_bytes()


def test_a_release_read_on_the_publishers_file_claims_no_copy(releases: Path, tmp_path: Path) -> None:
    # Without provenance.json (files taken from cms.gov itself) the sources name the file only.
    from plugin.content.releases import copies_of, read_release, release_files
    from plugin.content.releases.build import build, family_codes

    assert copies_of([releases])["PPRRVU23_JAN.csv"].startswith("an unmodified copy")
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy(releases / "PPRRVU23_JAN.csv", plain / "PPRRVU23_JAN.csv")
    assert copies_of([plain]) == {}
    tables = [read_release(p) for p in release_files([plain])]
    family = family_codes(ROOT / "fhir_bundles" / "valuesets" / "ecmo-ecls-family.json")
    source = build(tables, family).tables["medicare-pfs-indicators"]["source"]
    assert source["label"] == "CMS PFS national Relative Value File (PFS RVU 2023-A)"
    assert "copy" not in source["detail"]


def test_cards_citing_a_table_name_its_release() -> None:
    # How the CDS rules cite a facts table (plugin/cds_hooks/tables.py): the label carries the stamp.
    from plugin.cds_hooks.tables import dated_label, load_tables

    tables = load_tables(FACTS)
    built = [t for t in FILE_NAMES if t in tables.files]
    labels = {table_id: [dated_label(s) for s in tables.source_of(table_id)] for table_id in built}
    # The committed tables were built from rows read on copies (provenance.json): their sources say so.
    assert labels["ncci-ptp-practitioner"] == [
        "CMS NCCI PTP edits, practitioner (NCCI PTP 2024-Q3; read on a copy) (as of 2024-07-01)"
    ]
    assert labels["ncci-mue"] == [
        "CMS NCCI MUE, practitioner (NCCI MUE 2024-Q3; read on a copy) (as of 2024-07-01)"
    ]
    pfs = tables.files["medicare-pfs-indicators"]["source"]
    assert "chrisnieves60/Syntra-TakeHome" in pfs["detail"] and pfs["url"].startswith("https://www.cms.gov/")
    assert tables.files["ncci-add-on-codes"]["release"]["stamp"] == "NCCI AOC 2024-Q2"
    assert tables.mue["33952"]["mue"] == 1 and tables.add_ons["33987"]["primaries"] == [
        "33953", "33954", "33955", "33956"
    ]  # fmt: skip


def test_the_release_sets_the_cpt_fragment_global_days_and_add_on(
    releases: Path, facts: Path, tmp_path: Path
) -> None:
    fragment = tmp_path / "cpt-ecmo-fragment.json"
    shutil.copy(ROOT / "fhir_bundles" / "codesystems" / "cpt-ecmo-fragment.json", fragment)
    base = ["content", "build", str(releases), "--facts", str(facts), "--cpt-fragment", str(fragment)]
    assert main([*base, "--check"]) == 0  # the published fragment agrees with the release
    pprrvu = releases / "PPRRVU23_JAN.csv"
    row = "33988,,,A,,15.00,4.23,NA,4.23,,3.37,22.60,22.60,0,{}"
    pprrvu.write_text(pprrvu.read_text().replace(row.format("000"), row.format("090")))
    reports = tmp_path / "r"
    assert main([*base, "--diff", "--report-dir", str(reports)]) == 0
    changed = json.loads((reports / "content-diff.json").read_text())["fhir"]["cpt-ecmo-fragment.json"]
    assert changed == [{"code": "33988", "property": "global-days", "from": "000", "to": "090"}]
    concept = next(c for c in json.loads(fragment.read_text())["concept"] if c["code"] == "33988")
    assert {"code": "global-days", "valueString": "090"} in concept["property"]
