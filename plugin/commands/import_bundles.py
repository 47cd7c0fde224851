"""`cpt-plugin import`: bring real Synthea R4 bundles into the sandbox at the age a scenario needs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plugin.commands._args import iso_date


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import",
        help="import Synthea R4 bundles: time-shift, derive Coverage, add a draft order",
        description="Shift every date in each bundle by the same number of days so the patient has the "
        "wanted age on the order date (or so the record ends on --shift-to), derive a Coverage from "
        "Claim/ExplanationOfBenefit, and add a draft ServiceRequest. The record is otherwise kept as is.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="Synthea bundle files or folders")
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--age-on-order", metavar="AGE", help="age on the order date, e.g. 5y11m, 40y, 18m")
    when.add_argument("--shift-to", type=iso_date, metavar="DATE", help="move the record so it ends on DATE")
    parser.add_argument(
        "--order-date", type=iso_date, help="date of service with --age-on-order (default today)"
    )
    parser.add_argument("--order-code", default="33952", help="CPT code of the draft order (default 33952)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("var/sandbox/imported"),
        help="output folder (default var/sandbox/imported, served by the sandbox)",
    )
    parser.set_defaults(func=run)


def _files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.glob("*.json") if p.is_file()))
        else:
            files.append(path)
    return files


def run(args: argparse.Namespace) -> int:
    from plugin import clock
    from plugin.dates import parse_age
    from plugin.sandbox.importer import BundleImportError, import_file

    kwargs: dict = {"order_code": args.order_code}
    if args.age_on_order:
        try:
            age = parse_age(args.age_on_order)
        except ValueError as exc:
            print(f"cpt-plugin import: {exc}", file=sys.stderr)
            return 2
        kwargs.update(age=age, order_date=args.order_date or clock.today(), label=str(age))
    else:
        kwargs.update(
            shift_to=args.shift_to, order_date=args.shift_to, label=f"to-{args.shift_to.isoformat()}"
        )
    files = _files(args.paths)
    if not files:
        print("cpt-plugin import: no bundle files found", file=sys.stderr)
        return 2
    failed = 0
    for path in files:
        try:
            target, result = import_file(path, args.out, **kwargs)
        except BundleImportError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(
            f"{path.name} -> {target}  (shifted {result.shift_days:+d} days, age {result.age} on "
            f"{result.scenario.order_date}, scenario {result.scenario.name})"
        )
    return 1 if failed else 0
