"""The built PTP table keeps every edit the curated table had, ranges included (E/M 99211-99215 with
33952): the overlay's ranges (annotations.json `ptpRanges`) are merged into the rows the release
excerpt gives, and apply to that release only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from plugin.cds_hooks.tables import load_tables
from plugin.cli import main
from plugin.content.releases.build import annotations
from plugin.content.releases.ranges import apply_ranges

ROOT = Path(__file__).resolve().parents[2]
RELEASES = ROOT / "tests" / "data" / "releases"
FACTS = ROOT / "cds_hooks" / "facts"
REFERENCE = RELEASES / "ncci-ptp-practitioner-curated-2024-07-01.json"


def codes_of(item: str) -> list[str]:
    """A code, or every code of a numeric range."""
    if "-" not in item:
        return [item]
    low, high = item.split("-")
    return [f"{n:05d}" for n in range(int(low), int(high) + 1)]


def reference_pairs() -> list[tuple[str, str, str]]:
    rows = json.loads(REFERENCE.read_text(encoding="utf-8"))["rows"]
    return [
        (c1, c2, row["modifierIndicator"])
        for row in rows
        for item1 in row["column1"]
        for item2 in row["column2"]
        for c1 in codes_of(item1)
        for c2 in codes_of(item2)
    ]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tables as `content build` writes them from the committed excerpts (not the committed files)."""
    folder = tmp_path_factory.mktemp("facts")
    for path in FACTS.glob("*.json"):
        shutil.copy(path, folder / path.name)
    assert main(["content", "build", str(RELEASES), "--facts", str(folder)]) == 0
    return folder


@pytest.fixture(scope="module")
def curated(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same tables with the curated PTP table in place of the built one."""
    folder = tmp_path_factory.mktemp("curated")
    for path in built.glob("*.json"):
        shutil.copy(path, folder / path.name)
    shutil.copy(REFERENCE, folder / "ncci-ptp-practitioner.json")
    return folder


def test_every_pair_and_range_of_the_curated_table_still_meets_an_edit(built: Path, curated: Path) -> None:
    tables, reference = load_tables(built), load_tables(curated)
    pairs = reference_pairs()
    assert len(pairs) > 1000  # the ranges are expanded code by code
    missing = [(c1, c2) for c1, c2, _ in pairs if tables.ptp_edit(c1, c2) is None]
    assert missing == []
    # The same edit wins as in the curated table, pair by pair: same modifier indicator and bypass
    # modifiers (36410 listed at 1 beats 36400-36420 at 0, 36572 listed at 0 beats 36561-36585 at 1).
    changed = [
        (c1, c2)
        for c1, c2, _ in pairs
        if any(
            tables.ptp_edit(c1, c2).get(key) != reference.ptp_edit(c1, c2).get(key)
            for key in ("modifierIndicator", "bypassModifiers")
        )
    ]
    assert changed == []


def test_33952_with_an_office_visit_inside_the_range_keeps_its_edit(built: Path) -> None:
    edit = load_tables(built).ptp_edit("33952", "99213")
    assert edit is not None
    assert edit["modifierIndicator"] == "1" and edit["bypassModifiers"] == ["25"]
    assert "99211-99215" in edit["rangesFromSummary"]
    table = json.loads((built / "ncci-ptp-practitioner.json").read_text(encoding="utf-8"))
    assert "read on a copy" in table["rangeSource"]["label"] and table["rangeSource"]["asOf"] == "2024-07-01"


def test_ranges_apply_only_to_the_release_the_overlay_names() -> None:
    overlay = annotations()["ptpRanges"]
    row = {
        "column1": ["33952"],
        "column2": ["99211", "99215", "G0463"],
        "modifierIndicator": "1",
        "rationale": "CPT Manual or CMS manual coding instruction",
    }
    other = json.loads(json.dumps(row))
    assert apply_ranges([other], overlay, "NCCI PTP 2025-Q1") == []
    assert other["column2"] == ["99211", "99215", "G0463"]
    assert "99211-99215" in apply_ranges([row], overlay, overlay["release"])
    assert row["column2"] == ["99211-99215", "G0463"]
    # A row with another indicator or rationale is left as the file gives it.
    zero = {**other, "modifierIndicator": "0"}
    assert apply_ranges([zero], overlay, overlay["release"]) == [] and zero["column2"] == other["column2"]


def test_curated_notes_reach_the_built_rows_without_internal_notes(built: Path) -> None:
    table = json.loads((built / "ncci-ptp-practitioner.json").read_text(encoding="utf-8"))
    fluoroscopy = [r for r in table["rows"] if "76000" in r["column2"]]
    assert len(fluoroscopy) == 1 and fluoroscopy[0]["column2"] == ["76000"]
    assert fluoroscopy[0]["note"].startswith("Fluoroscopy (76000) is included in 33952")
    text = json.dumps(table)
    assert "Confirm against" not in text and "not stated in the snapshot summary" not in text
    assert table["source"]["id"] == "cms-ncci-ptp"
    assert table["modifierIndicators"]["1"].startswith(
        "a modifier can bypass the edit when the modifier's own"
    )
