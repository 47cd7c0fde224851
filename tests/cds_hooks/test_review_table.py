"""docs/rules.md, the coder's review table, is generated from the rule and fact files: the committed page
equals what `cpt-plugin rules-table` writes, and every row names a dated source with its confidence."""

from __future__ import annotations

import json
from pathlib import Path

from plugin.cds_hooks.review_table import build
from plugin.cli import main

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "rules.md"


def rows(text: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split(" | ")]
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith("| Part |")
    ]


def test_committed_table__equals_the_generated_one() -> None:
    assert PAGE.read_text(encoding="utf-8") == build(ROOT / "cds_hooks"), (
        "docs/rules.md is out of date: run cpt-plugin rules-table --out docs/rules.md"
    )


def test_every_row__has_a_linked_source_a_confidence_and_a_date() -> None:
    table = rows(build(ROOT / "cds_hooks"))
    assert len(table) > 40
    for part, sentence, _when, source, confidence, as_of in table:
        assert "](http" in source, (part, sentence)
        assert confidence not in ("-", "not stated") and "Low" not in confidence, (part, sentence)
        assert as_of != "-", (part, sentence)


def test_every_rule__has_its_section() -> None:
    text = build(ROOT / "cds_hooks")
    for path in (ROOT / "cds_hooks" / "rules").glob("*.json"):
        for rule in json.loads(path.read_text(encoding="utf-8"))["rules"]:
            assert f"### `{rule['id']}` v{rule['version']}" in text


def test_cli__check_reports_a_stale_file(tmp_path, capsys) -> None:
    out = tmp_path / "rules.md"
    assert main(["rules-table", "--out", str(out)]) == 0
    assert main(["rules-table", "--out", str(out), "--check"]) == 0
    out.write_text("stale\n", encoding="utf-8")
    assert main(["rules-table", "--out", str(out), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
