"""`cpt-plugin db`: the store's schema, retention and size.

    cpt-plugin db upgrade   bring the schema to this version's revision (run once per release, before
                            the new instances start; PostgreSQL is never migrated by a starting server)
    cpt-plugin db current   the revision the database is at; exit status 1 when it is not the one needed
    cpt-plugin db purge     remove now what is past [storage.retention] (servers also do it in the
                            background), in the same small batches
    cpt-plugin db size      rows, date range and bytes per table

Each reads `[storage] url` from the configuration (`--config`, else $CPT_PLUGIN_CONFIG); `--url`
names another database.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from plugin.config import ConfigError, load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="schema migrations, retention purge and size of the store")
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    for name, help_text in (
        ("upgrade", "bring the database schema to this version's revision"),
        ("current", "print the schema revision; exit 1 when an upgrade is needed"),
        ("purge", "remove rows past [storage.retention] now, in small batches"),
        ("size", "rows, oldest/newest row and bytes per table"),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("--config", help="TOML configuration file (else $CPT_PLUGIN_CONFIG)")
        action.add_argument("--url", help="database URL (default: [storage] url of the configuration)")
        if name in ("size", "purge"):
            action.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from plugin.storage.store import engine_for

    try:
        settings = load_settings(config_file=args.config)
    except ConfigError as exc:
        print(f"cpt-plugin db: {exc}", file=sys.stderr)
        return 2
    url = args.url or settings["storage"]["url"]
    engine = engine_for(url)
    try:
        return _ACTIONS[args.db_action](engine, settings, args)
    finally:
        engine.dispose()


def _upgrade(engine: Any, _settings: dict[str, Any], _args: argparse.Namespace) -> int:
    from plugin.storage.migrate import upgrade

    before, after = upgrade(engine)
    if before == after:
        print(f"schema already at revision {after}")
    else:
        print(f"schema upgraded: {before or 'empty database'} -> {after}")
    return 0


def _current(engine: Any, _settings: dict[str, Any], _args: argparse.Namespace) -> int:
    from plugin.storage.migrate import status

    found = status(engine)
    print(f"revision {found.current or '(none: empty database)'}; this version needs {found.head}")
    problem = found.problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


def _purge(engine: Any, settings: dict[str, Any], args: argparse.Namespace) -> int:
    from plugin.storage.retention import Retention, purge

    retention = Retention.from_settings(settings["storage"])
    removed = purge(engine, retention)
    if removed is None:
        print("another process is purging this database now; nothing done", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"removed": removed}))
    else:
        days = {
            "feedback": retention.feedback_days,
            "issued_cards": retention.issued_cards_days,
            "audit": retention.audit_days,
        }
        for table, count in removed.items():
            kept = days.get(table)
            if kept is None:
                rule = "expired claims"
            else:
                rule = f"older than {kept} days" if kept else "kept for ever"
            print(f"{table:<13} {count:>9} rows removed ({rule})")
    return 0


def _size(engine: Any, _settings: dict[str, Any], args: argparse.Namespace) -> int:
    from plugin.storage.retention import size_report

    report = size_report(engine)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{'table':<13} {'rows':>10} {'bytes':>13}  oldest .. newest")
    for name, row in report["tables"].items():
        span = f"{row.get('oldest') or '-'} .. {row.get('newest') or '-'}" if "oldest" in row else ""
        size = "-" if row["bytes"] is None else f"{row['bytes']:,}"
        print(f"{name:<13} {row['rows']:>10,} {size:>13}  {span}")
    total = report["total_bytes"]
    print(f"database ({report['backend']}): {'-' if total is None else f'{total:,}'} bytes")
    return 0


_ACTIONS = {"upgrade": _upgrade, "current": _current, "purge": _purge, "size": _size}
