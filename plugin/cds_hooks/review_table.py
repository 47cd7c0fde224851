"""The coder's review table (docs/rules.md), generated from the rule and fact files.

Every sentence a card or a coverage-information action can show is a row: the template as written, where
it applies (the rule's trigger and condition, the sentence's own `applies` and `when`), the sources that
sentence cites (`card.cites` for summary and detail, `source` of a section, suggestion or reason
sentence), their confidence and as-of date. Fact-table texts that cards print through a placeholder (PTP
row notes, payer findings, prior-authorization guidance) get rows of their own, with the rows they attach
to. The table is written by `cpt-plugin rules-table`; a test checks the committed file is up to date.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HEADER = """# Rules: every sentence a card can say

Generated from `cds_hooks/rules/*.json` and `cds_hooks/facts/*.json` by `cpt-plugin rules-table --out
docs/rules.md`; do not edit by hand (a test checks this file equals the generated one). For each rule:
each sentence template (`{fact}` placeholders are filled per order), when it is shown, and the sources that
sentence itself rests on (by source id), with their confidence and as-of date. High = an official CMS/CDC
file or code descriptor; Medium = a society, MAC, AAPC or payer source, and the card names it; a sentence
that only says something is not verified may rest on no source, and says so.
"""

CARD_SHOWN = "the card is shown"
COLUMNS = "| Part | Sentence | Shown when | Source | Confidence | As of |\n|---|---|---|---|---|---|"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip() or "-"


def _operand(expr: Any) -> str:
    if isinstance(expr, dict) and "fact" in expr:
        return f"`{expr['fact']}`"
    return json.dumps(expr)


def describe(expr: Any) -> str:
    """A condition of the rule language in words a reviewer can read."""
    if expr is None or expr is True:
        return "always"
    ((op, arg),) = expr.items()
    if op in ("all", "any"):
        joined = (" and " if op == "all" else " or ").join(describe(a) for a in arg)
        return f"({joined})" if len(arg) > 1 else joined
    if op == "not":
        return f"not {describe(arg)}"
    if op == "fact":
        return f"`{arg}`"
    if op == "exists":
        return f"{_operand(arg)} is given"
    words = {"eq": "=", "ne": "≠", "lt": "<", "le": "≤", "gt": ">", "ge": "≥", "in": "in"}
    left, right = arg
    if op == "in" and not isinstance(right, list):
        return f"{_operand(right)} holds {_operand(left)}"
    return f"{_operand(left)} {words[op]} {_operand(right)}"


def describe_applies(applies: dict[str, Any]) -> list[str]:
    parts = []
    if "codes" in applies:
        parts.append("order code in " + ", ".join(applies["codes"]))
    if "ageBand" in applies:
        band = applies["ageBand"]
        low, high = band.get("min"), band.get("max")
        parts.append(
            f"age {low}-{high}"
            if low is not None and high is not None
            else f"age {low} or older"
            if low is not None
            else f"age {high} or younger"
        )
    if "payer" in applies:
        parts.append("payer " + " or ".join(applies["payer"]))
    if "sameDate" in applies:
        parts.append("same date of service" if applies["sameDate"] else "different dates")
    if "sameProvider" in applies:
        parts.append("same provider" if applies["sameProvider"] else "different providers")
    return parts


def _trigger(rule: dict[str, Any]) -> str:
    trigger = rule.get("trigger") or {}
    if "codes" in trigger:
        return "codes " + ", ".join(trigger["codes"])
    if "valueSet" in trigger:
        return "codes in " + trigger["valueSet"].rsplit("/", 1)[-1]
    return "any request"


def _source_text(source: dict[str, Any]) -> str:
    """`id` [label](url): the source's id (what a sentence cites) and its publisher link."""
    label = source.get("label", "")
    url = source.get("url")
    linked = f"[{label}]({url})" if url else label
    return f"`{source['id']}` {linked}" if source.get("id") else linked


Tables = dict[str, dict[str, Any]]


def _sources(rule: dict[str, Any], tables: Tables, ids: Any = None) -> list[dict[str, Any]]:
    used = [s for t in rule.get("uses", []) for s in _table_sources(tables.get(t, {}))]
    every = used + rule["sources"]
    if ids:
        wanted = [ids] if isinstance(ids, str) else list(ids)
        return [s for s in every if s.get("id") in wanted]
    return every


def _table_sources(table: dict[str, Any]) -> list[dict[str, Any]]:
    if "sources" in table:
        return list(table["sources"])
    if "source" in table:
        return [{**table["source"], "asOf": table["source"].get("asOf", table.get("asOf"))}]
    return []


def _joined(sources: list[dict[str, Any]], key: str, missing: str) -> str:
    return ", ".join(dict.fromkeys(str(s.get(key, missing)) for s in sources))


def _row(part: str, text: str, when: str, sources: list[dict[str, Any]], confidence: Any, as_of: Any) -> str:
    names = "; ".join(_source_text(s) for s in sources) or "no source: not verified"
    confidence = confidence or _joined(sources, "confidence", "not stated")
    as_of = as_of or _joined(sources, "asOf", "not given")
    return "| " + " | ".join(_cell(c) for c in (part, text, when, names, confidence, as_of)) + " |"


def _sentence_rows(
    rule: dict[str, Any], tables: Tables, sentences: list[dict[str, Any]], shown: str, part: str
) -> list[str]:
    """A row per sentence (card section or coverage reason): its own sources, confidence and as-of."""
    lines = []
    for i, section in enumerate(sentences):
        when = describe_applies(section.get("applies", {}))
        if section.get("when") is not None:
            when.append(describe(section["when"]))
        own = _sources(rule, tables, section.get("source")) if section.get("source") else []
        lines.append(
            _row(
                f"{part} {section.get('id', i + 1)}",
                section["text"],
                " and ".join(when if shown == CARD_SHOWN else [shown, *when]) or shown,
                own,
                section.get("confidence"),
                section.get("asOf"),
            )
        )
    return lines


def _rule_section(rule: dict[str, Any], tables: Tables) -> list[str]:
    base = describe(rule.get("condition"))
    hooks = ", ".join(rule.get("hooks", [])) or "every hook"
    lines = [
        f"### `{rule['id']}` v{rule['version']}",
        "",
        f"{rule['title']}. Topic `{rule['topic']}`; {_trigger(rule)}; {hooks}. Fires when: {base}.",
        "",
        "All its sources (the card's closing line): "
        + "; ".join(_source_text(s) for s in _sources(rule, tables)),
        "",
        COLUMNS,
    ]
    card = rule.get("card")
    if card:
        for part in ("summary", "detail"):
            claim = card["cites"][part]
            own = _sources(rule, tables, claim["source"])
            lines.append(_row(part, card[part], CARD_SHOWN, own, claim.get("confidence"), claim.get("asOf")))
        lines += _sentence_rows(rule, tables, card.get("sections", []), CARD_SHOWN, "sentence")
        for suggestion in card.get("suggestions", []):
            when = describe(suggestion.get("when"))
            own = _sources(rule, tables, suggestion["source"])
            lines.append(_row("suggestion", suggestion["label"], when, own, None, None))
    action = rule.get("systemAction")
    if action:
        for kind, values in action["byPayer"].items():
            part = f"coverage reason (covered: {values['covered']})"
            lines += _sentence_rows(rule, tables, values["reason"], f"payer {kind}", part)
    return lines


def _facts_section(tables: Tables) -> list[str]:
    lines = ["## Fact-table texts that cards print", "", COLUMNS]
    ptp = tables.get("ncci-ptp-practitioner", {})
    ptp_sources = _table_sources(ptp)
    for row in ptp.get("rows", []):
        if row.get("note"):
            pairs = f"column 1 {', '.join(row['column1'])} with column 2 {', '.join(row['column2'])}"
            lines.append(_row("PTP row note (`edit.note`)", row["note"], pairs, ptp_sources, None, None))
    add_ons = tables.get("ncci-add-on-codes", {})
    lines += [
        _row(
            "add-on note (`addon.note`)",
            row["note"],
            f"add-on {row['addOn']}",
            _table_sources(add_ons),
            None,
            None,
        )
        for row in add_ons.get("rows", [])
        if row.get("note")
    ]
    payers = tables.get("payer-classification", {})
    for kind, policy in payers.get("policies", {}).items():
        sources = policy.get("sources") or [{"label": "no source found"}]
        lines.append(
            _row(
                "payer finding (`payer.finding`)",
                policy["finding"],
                f"payer {kind}",
                sources,
                policy.get("confidence"),
                None,
            )
        )
    for entry in tables.get("place-of-service", {}).get("payerFacility", []):
        lines.append(
            _row(
                "payer facility list (`setting.payer_note`)",
                f"{entry['finding']}: POS {', '.join(entry['codes'])}",
                f"payer {entry['payer']} only (site-of-service cards)",
                [entry["source"]],
                entry.get("confidence"),
                None,
            )
        )
    pa = payers.get("priorAuthorization", {})
    inference = "Medium (inference, labelled as such)"
    lines += [
        _row(
            "prior authorization (`pa.advice`)",
            pa[key],
            f"{key} order, commercial payer cards",
            pa.get("sources", []),
            inference,
            None,
        )
        for key in ("emergent", "planned")
        if key in pa
    ]
    return lines


def build(folder: Path) -> str:
    """docs/rules.md for the rule and fact files under `folder` (a cds_hooks folder)."""
    tables = {}
    for path in sorted((folder / "facts").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        tables[data["id"]] = data
    lines = [HEADER, "## Rules", ""]
    for path in sorted((folder / "rules").glob("*.json")):
        lines.append(f"Rules of `cds_hooks/rules/{path.name}`:")
        lines.append("")
        for rule in json.loads(path.read_text(encoding="utf-8"))["rules"]:
            lines += _rule_section(rule, tables)
            lines.append("")
    lines += _facts_section(tables)
    return "\n".join(lines).rstrip() + "\n"
