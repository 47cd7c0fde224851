"""Replay: real CDS Hooks requests to the live service, cards compared with each scenario's expectation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plugin.app import create_app
from plugin.cli import main
from plugin.sandbox.bundles import ExpectedCard, dumps, get_scenario, set_scenario
from plugin.sandbox.replay import compare, table

from .conftest import SYNTHETIC, sandbox_settings, synthea_files

ORDER = "2026-11-25"


def _card(topic: str, indicator: str, rule: str | None = None) -> dict:
    card = {"summary": "s", "indicator": indicator, "source": {"label": "x", "topic": {"code": topic}}}
    if rule:
        card["extension"] = {"org.cpt-plugin.rule": {"id": rule, "version": "1"}}
    return card


def test_compare__exact__missing_and_unexpected_named() -> None:
    expected = [ExpectedCard("age-criteria", "warning"), ExpectedCard("payer-policy", "info", "payer-note")]
    cards = [_card("payer-policy", "info", "payer-note"), _card("coding-edit", "warning", "ncci")]
    missing, unexpected = compare(expected, cards, "exact", [])
    assert missing == ["age-criteria/warning"]
    assert unexpected == ["coding-edit/warning [ncci]"]
    assert compare(expected[1:], cards[:1], "exact", []) == ([], [])


def test_compare__rule_id_must_match_when_known() -> None:
    expected = [ExpectedCard("payer-policy", "info", "payer-note")]
    missing, unexpected = compare(expected, [_card("payer-policy", "info", "other-rule")], "exact", [])
    assert missing == ["payer-policy/info [payer-note]"] and unexpected == ["payer-policy/info [other-rule]"]


def test_compare__includes__other_cards_allowed_forbidden_topics_not() -> None:
    cards = [_card("documentation", "warning"), _card("age-criteria", "warning")]
    assert compare([ExpectedCard("age-criteria", "warning")], cards, "includes", []) == ([], [])
    assert compare([], cards, "includes", ["age-criteria"]) == ([], ["age-criteria/warning"])


@pytest.mark.parametrize("hook", ["order-sign", "order-select"])
def test_replay__all_synthetic_scenarios__live_service(live_server, capsys, hook: str) -> None:
    code = main(["replay", "--all", "--hook", hook, "--url", live_server.url])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "under6-day-before-6th-birthday" in out and " differ, 0 errors" in out


def test_replay__omit_prefetch__service_fetches_from_sandbox_fhir(live_server, capsys) -> None:
    code = main(["replay", "--all", "--omit-prefetch", "--url", live_server.url])
    out = capsys.readouterr().out
    assert code == 0, out


def test_replay__wrong_expectation__exit_1_with_readable_diff(live_server, tmp_path: Path, capsys) -> None:
    bundle = json.loads((SYNTHETIC / "under6-day-before-6th-birthday.json").read_text())
    scenario = get_scenario(bundle)
    scenario.expected = [ExpectedCard("data-quality", "warning"), ExpectedCard("payer-policy", "info")]
    set_scenario(bundle, scenario)
    (tmp_path / "wrong.json").write_text(dumps(bundle))
    code = main(["replay", "--all", "--bundles", str(tmp_path), "--url", live_server.url])
    out = capsys.readouterr().out
    assert code == 1
    assert "under6-day-before-6th-birthday (order-sign): cards differ from the scenario" in out
    assert "- expected, not returned: data-quality/warning" in out
    assert "+ returned, not expected: age-criteria/warning" in out


def test_replay__unreachable_service__exit_2_and_message(tmp_path: Path, capsys) -> None:
    code = main(["replay", "--scenario", "adult-aetna", "--url", "http://127.0.0.1:9"])
    assert code == 2
    assert "cannot reach http://127.0.0.1:9/cds-services" in capsys.readouterr().err


def test_replay__unknown_scenario__exit_2(capsys) -> None:
    assert main(["replay", "--scenario", "no-such-scenario", "--url", "http://127.0.0.1:9"]) == 2
    assert "unknown scenario(s): no-such-scenario" in capsys.readouterr().err


@pytest.mark.parametrize(("spec", "age_card"), [("5y11m", True), ("40y", False)])
def test_replay__imported_synthea__age_warning_only_under_6(
    tmp_path: Path, serve, capsys, spec: str, age_card: bool
) -> None:
    imported = tmp_path / "imported"
    files = [str(p) for p in synthea_files()]
    assert (
        main(["import", *files, "--age-on-order", spec, "--order-date", ORDER, "--out", str(imported)]) == 0
    )
    server = serve(create_app(sandbox_settings(tmp_path, imported)))
    for extra in ([], ["--omit-prefetch"]):
        code = main(["replay", "--all", "--bundles", str(imported), "--url", server.url, *extra])
        out = capsys.readouterr().out
        assert code == 0, out
        assert (out.count("age-criteria/warning") >= len(files)) is age_card, out


def test_table__lists_every_run_and_totals() -> None:
    from plugin.sandbox.replay import Outcome

    text = table(
        [
            Outcome("a", "order-sign", "PASS", [_card("payer-policy", "info")]),
            Outcome("b", "order-sign", "FAIL", [], ["age-criteria/warning"], []),
            Outcome("c", "order-sign", "ERROR", error="HTTP 500: boom"),
        ]
    )
    assert "a  " in text and "(no cards)" in text and "HTTP 500: boom" in text
    assert "b (order-sign): cards differ" in text
    assert text.endswith("1 of 3 runs got the expected cards; 1 differ, 1 errors")


def test_progress__bar_on_a_terminal_silent_otherwise() -> None:
    import io

    from plugin.sandbox.replay import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        progress = Progress(4, stream)
        for name in ("a", "b", "c", "d"):
            progress.step(name)
        progress.close()
    assert "[" in terminal.getvalue() and "4/4 d" in terminal.getvalue() and "\r" in terminal.getvalue()
    assert pipe.getvalue() == ""


# --- the report's formatting ----------------------------------------------------------------------

LONG = (
    "Add-on 33987 is reportable only with 33953, 33954, 33955, 33956; no such primary is ordered "
    "(no modifier bypass)"
)


def _outcomes() -> list:
    from plugin.sandbox.replay import Outcome

    add_on = {**_card("coding-edit", "warning", "ncci-add-on-without-primary"), "summary": LONG}
    note = {**_card("documentation", "info", "cannulation-note-elements"), "summary": "Note: 4 of 10"}
    return [
        Outcome("addon-33987-alongside", "order-sign", "PASS", [add_on, note]),
        Outcome("non-ecmo-order", "order-select", "PASS", []),
        Outcome("adult-aetna", "order-sign", "ERROR", error="HTTP 500: " + "x" * 300),
    ]


@pytest.mark.parametrize("width", [20, 37, 60, 95])
def test_truncate__long_text__cut_at_a_word_boundary_with_an_ellipsis(width: int) -> None:
    from plugin.sandbox.replay import truncate

    cut = truncate(LONG, width)
    assert len(cut) <= width and cut.endswith("…")
    kept = cut[:-1]
    assert LONG.startswith(kept) and LONG[len(kept)] in " ;,(", (kept, LONG[len(kept)])
    assert not kept.endswith((" ", ";", ","))


def test_truncate__short_text_or_one_long_word() -> None:
    from plugin.sandbox.replay import truncate

    assert truncate("Note  for\n33952", 40) == "Note for 33952"
    assert truncate("x" * 50, 10) == "x" * 9 + "…"


def test_table__wide_terminal__one_card_a_line_aligned_and_within_the_width() -> None:
    text = table(_outcomes(), width=140)
    lines = text.splitlines()
    assert all(len(line) <= 140 for line in lines if not line.startswith("adult-aetna ("))
    column = lines[0].index("cards")
    add_on = next(line for line in lines if "ncci-add-on-without-primary" in line)
    note = next(line for line in lines if "cannulation-note-elements" in line)
    assert add_on.startswith("addon-33987-alongside") and add_on.index("coding-edit") == column
    assert note.index("documentation") == column and not note[:column].strip()
    assert add_on.endswith("…") and "Add-on 33987 is reportable" in add_on
    assert "(no cards)" in text
    # An error is cut in the table and given whole below it.
    assert f"adult-aetna (order-sign): HTTP 500: {'x' * 300}" in lines


def test_table__narrow_terminal__cards_on_their_own_lines_under_the_run() -> None:
    lines = table(_outcomes(), width=64).splitlines()
    assert all(len(line) <= 64 for line in lines if not line.startswith("adult-aetna ("))
    run = lines.index(next(line for line in lines if line.startswith("addon-33987-alongside")))
    assert lines[run].split() == ["addon-33987-alongside", "order-sign", "PASS"]
    assert lines[run + 1].startswith("    coding-edit/warning [ncci-add-on-without-primary] Add-on")
    assert lines[run + 2] == "    documentation/info [cannulation-note-elements] Note: 4 of 10"


def test_table__width_follows_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "90")
    lines = table(_outcomes()).splitlines()
    assert max(len(line) for line in lines if not line.startswith("adult-aetna (")) == 90


def test_table__not_a_terminal__120_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    def no_terminal(*_args: object) -> os.terminal_size:
        raise OSError("not a terminal")

    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(os, "get_terminal_size", no_terminal)
    lines = table(_outcomes()).splitlines()
    assert max(len(line) for line in lines if not line.startswith("adult-aetna (")) == 120
