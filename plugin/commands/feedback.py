"""`cpt-plugin feedback`: how often clinicians accept or override each kind of card.

Reads the feedback store named by `[storage] url` (the same database the server writes) and reports
accepted / overridden counts and rates per card topic and per rule. Feedback about a card this store
never issued is counted under topic "(unknown card)".
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from plugin.config import ConfigError, load_settings
from plugin.storage.store import Store

UNKNOWN = "(unknown card)"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "feedback", help="report accept/override rates per CDS card topic and rule"
    )
    parser.add_argument("--config", help="TOML configuration file (else $CPT_PLUGIN_CONFIG)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def _rates(accepted: int, overridden: int) -> dict[str, Any]:
    total = accepted + overridden
    return {
        "accepted": accepted,
        "overridden": overridden,
        "total": total,
        "acceptRate": round(accepted / total, 3) if total else None,
        "overrideRate": round(overridden / total, 3) if total else None,
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Fold store.feedback_summary() rows into per-topic and per-rule counts and rates."""
    topics: dict[str, dict[str, int]] = {}
    rules: dict[tuple[str, str], dict[str, int]] = {}
    for row in rows:
        topic = row["topic"] or UNKNOWN
        outcome = row["outcome"] if row["outcome"] in ("accepted", "overridden") else None
        if outcome is None:
            continue
        topics.setdefault(topic, {"accepted": 0, "overridden": 0})[outcome] += row["n"]
        # A merged card was stored with every contributing rule ("a+b"): each of them is credited.
        for rule in (row["rule_id"] or UNKNOWN).split("+"):
            rules.setdefault((topic, rule), {"accepted": 0, "overridden": 0})[outcome] += row["n"]
    return {
        "topics": [{"topic": t, **_rates(**c)} for t, c in sorted(topics.items())],
        "rules": [{"topic": t, "rule": r, **_rates(**c)} for (t, r), c in sorted(rules.items())],
    }


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def format_table(report: dict[str, Any]) -> str:
    lines = []
    for title, key, rows in (
        ("By card topic", "topic", report["topics"]),
        ("By rule", "rule", report["rules"]),
    ):
        lines.append(title)
        width = max([len(key)] + [len(str(r[key])) for r in rows])
        lines.append(f"  {key:<{width}}  accepted  overridden  total  accept rate  override rate")
        lines += [
            f"  {r[key]:<{width}}  {r['accepted']:>8}  {r['overridden']:>10}  {r['total']:>5}"
            f"  {_percent(r['acceptRate']):>11}  {_percent(r['overrideRate']):>13}"
            for r in rows
        ]
        if not rows:
            lines.append("  (no feedback yet)")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(config_file=args.config)
    except ConfigError as exc:
        print(f"cpt-plugin feedback: {exc}", file=sys.stderr)
        return 2
    store = Store(settings["storage"]["url"])
    try:
        report = summarise(store.feedback_summary())
    finally:
        store.close()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        sys.stdout.write(format_table(report))
    return 0
