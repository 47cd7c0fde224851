"""`cpt-plugin rules-table`: write the coder's review table (docs/rules.md) from the rule and fact files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plugin.cds_hooks.review_table import build
from plugin.config import ConfigError, load_settings, resolve_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rules-table",
        help="write the review table of every card sentence with its sources (docs/rules.md)",
        description=(
            "Reads cds_hooks/rules/*.json and cds_hooks/facts/*.json ([content] cds_hooks) and writes a "
            "Markdown table of every sentence template a card can show: where it applies, its sources, "
            "their confidence and as-of date. --check exits 1 when FILE differs from what would be written."
        ),
    )
    parser.add_argument("--out", metavar="FILE", help="write to FILE (default: standard output)")
    parser.add_argument("--check", action="store_true", help="compare with --out FILE instead of writing")
    parser.add_argument("--config", help="TOML configuration file (else $CPT_PLUGIN_CONFIG)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"cpt-plugin rules-table: {exc}", file=sys.stderr)
        return 2
    text = build(resolve_path(settings, settings["content"]["cds_hooks"]))
    if not args.out:
        sys.stdout.write(text)
        return 0
    out = Path(args.out)
    if args.check:
        current = out.read_text(encoding="utf-8") if out.exists() else ""
        if current != text:
            print(f"{out} is out of date: run cpt-plugin rules-table --out {out}", file=sys.stderr)
            return 1
        return 0
    out.write_text(text, encoding="utf-8")
    return 0
