"""`cpt-plugin bench`: the production-mode benchmark (what `make bench` runs). See plugin/bench/runner.py."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench", help="benchmark the served endpoints against a bare-Flask floor (needs the bench extra)"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per endpoint (10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per endpoint (3)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--connections", type=int, help="concurrent connections (8 with wrk, 4 with Python)")
    parser.add_argument(
        "--load-generator",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="auto: wrk when installed, else the built-in Python generator",
    )
    parser.add_argument(
        "--compare-loadgen", action="store_true", help="also measure the floor with the other load generator"
    )
    parser.add_argument("--no-scaling", action="store_true", help="skip the 1k/10k/100k and prefetch runs")
    parser.add_argument("--scaling-duration", type=float, default=3.0, help="seconds per scaling run (3)")
    parser.add_argument("--startup-runs", type=int, default=3, help="start-up measurements (3)")
    parser.add_argument("--family-valueset", help="canonical URL of the value set for $expand/$validate-code")
    parser.add_argument("--out", type=Path, help="results folder (bench/results)")
    parser.add_argument("--work-dir", type=Path, help="generated content and logs (var/bench)")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from plugin.bench import report, runner

    settings = runner.Settings(
        duration=args.duration,
        warmup=args.warmup,
        workers=args.workers,
        connections=args.connections,
        load_generator=args.load_generator,
        compare_loadgen=args.compare_loadgen,
        scaling=not args.no_scaling,
        scaling_duration=args.scaling_duration,
        startup_runs=args.startup_runs,
        plot=not args.no_plot,
    )
    if args.family_valueset:
        settings.family_valueset = args.family_valueset
    if args.out:
        settings.out_dir = args.out
    if args.work_dir:
        settings.work_dir = args.work_dir
    results = runner.run(settings)
    path, png = runner.save(results, settings)
    print(report.table(results))
    print(f"results: {path}" + (f"\nplot: {png}" if png else ""))
    return 0
