"""`cpt-plugin synth`: write the synthetic scenario patients as FHIR R4 transaction Bundles."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plugin.commands._args import iso_date
from plugin.config import PROJECT_ROOT


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="generate synthetic patients, one bundle per CDS scenario (deterministic)",
        description="Write one FHIR R4 transaction Bundle per scenario. The same --seed and --as-of always "
        "give byte-identical files.",
    )
    parser.add_argument("--seed", type=int, required=True, help="seed for names, ids and times")
    parser.add_argument(
        "--as-of",
        type=iso_date,
        help="date of service for the scenarios (YYYY-MM-DD; default today, from the product's clock)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=PROJECT_ROOT / "fhir_bundles" / "synthetic",
        help="output folder (default fhir_bundles/synthetic)",
    )
    parser.add_argument("--scenario", action="append", help="only this scenario (repeatable)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from plugin import clock
    from plugin.sandbox import synth

    bundles = synth.generate(args.seed, args.as_of or clock.today())
    if args.scenario:
        unknown = sorted(set(args.scenario) - set(bundles))
        if unknown:
            print(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(bundles)}", file=sys.stderr)
            return 2
        bundles = {name: bundles[name] for name in args.scenario}
    paths = synth.write(bundles, args.out)
    print(f"wrote {len(paths)} bundles to {args.out}")
    return 0
