"""docs/rules.md, the coder's review table, is generated from the rule and fact files: the committed page
equals what `cpt-plugin rules-table` writes, and every row names a dated source with its confidence."""

from __future__ import annotations

import json
import re
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
        if source == "no source: not verified":
            # A sentence that only says something was not verified rests on no source, and says so.
            assert confidence == "not verified" and "not verified" in sentence, (part, sentence)
            continue
        assert "](http" in source, (part, sentence)
        assert confidence not in ("-", "not stated") and "Low" not in confidence, (part, sentence)
        assert as_of != "-", (part, sentence)


def _rule_rows(text: str) -> dict[str, list[list[str]]]:
    """rule id -> its table rows."""
    found: dict[str, list[list[str]]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("### `"):
            current = line.split("`")[1]
            found[current] = []
        elif line.startswith("## "):
            current = None
        elif current and line.startswith("| ") and not line.startswith("| Part |"):
            found[current].append([cell.strip() for cell in line.strip("|").split(" | ")])
    return found


def _ids(cell: str) -> set[str]:
    """The source ids a Source cell names (each source is shown as `id` [label](url))."""
    return set(re.findall(r"(?:^|; )`([a-z0-9-]+)`", cell))


def test_summary_and_detail_rows__show_only_the_sources_they_cite() -> None:
    table = _rule_rows(build(ROOT / "cds_hooks"))
    checked = 0
    for path in sorted((ROOT / "cds_hooks" / "rules").glob("*.json")):
        for rule in json.loads(path.read_text(encoding="utf-8"))["rules"]:
            card = rule.get("card")
            if not card:
                continue
            rows = {r[0]: r for r in table[rule["id"]]}
            for part in ("summary", "detail"):
                cited = card["cites"][part]["source"]
                wanted = {cited} if isinstance(cited, str) else set(cited)
                assert _ids(rows[part][3]) == wanted, (rule["id"], part)
                checked += 1
            for row in table[rule["id"]]:
                if row[0] == "suggestion":
                    assert _ids(row[3]), (rule["id"], row[1])
    assert checked >= 38
    # The Medicare summary rests on the PFS file and the NCD manual, not on the assistant-at-surgery page.
    medicare = {r[0]: r for r in table["payer-medicare"]}
    assert _ids(medicare["summary"][3]) == {"cms-pfs-2023", "ncd-manual"}
    assert "novitas" not in medicare["summary"][3].lower()


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


CONFIDENCE = {
    "High",
    "Medium",
    "Medium (absence of evidence)",
    "Medium (inference, labelled as such)",
    "not verified",
}
# Words of a source label that name its publisher; a Medium sentence names one of them itself.
NOT_PUBLISHERS = {"Alert", "Cardiology", "Coding", "Medicare", "Manual", "Part", "Rule", "CMS", "CPT", "ECMO"}


def _sentences() -> list[tuple[str, dict, dict]]:
    found = []
    for path in sorted((ROOT / "cds_hooks" / "rules").glob("*.json")):
        for rule in json.loads(path.read_text(encoding="utf-8"))["rules"]:
            sources = {s.get("id"): s for s in rule["sources"]}
            found += [(rule["id"], section, sources) for section in rule.get("card", {}).get("sections", [])]
    return found


def test_every_card_sentence__has_its_id_sources_confidence_and_date() -> None:
    for rule_id, section, _sources in _sentences():
        where = f"{rule_id}: {section['text'][:50]}"
        assert section.get("id") and section.get("source") and section.get("asOf"), where
        assert section.get("confidence") in CONFIDENCE, where


def test_medium_sentences__name_their_publisher_and_unverified_ones_say_so() -> None:
    for rule_id, section, sources in _sentences():
        text, confidence = section["text"], section["confidence"]
        if text.startswith("{") and text.endswith("}"):
            continue  # a fact-table text: its own words are checked with the facts (payers.json)
        ids = [section["source"]] if isinstance(section["source"], str) else section["source"]
        if confidence == "Medium":
            label_words = (w.strip("(),:;") for i in ids for w in sources.get(i, {}).get("label", "").split())
            words = {w for w in label_words if w[:1].isupper() and w not in NOT_PUBLISHERS}
            assert any(w in text for w in words), (rule_id, text[:60], sorted(words))
        if confidence == "not verified":
            assert "not verified" in text, (rule_id, text[:60])
