"""`cpt-plugin bench`: the production-mode benchmark (what `make bench` runs). See tools/bench/runner.py.

The harness is a tool beside the product (tools/bench), not part of the `plugin` package: this is
the one place in plugin/ that imports it, lazily, so the product installs and serves without it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

INSTALL_HINT = "install it from the source checkout with: pip install -e '.[bench]'"


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
    parser.add_argument(
        "--scale-out",
        action="store_true",
        help="also measure order-sign with JWT on PostgreSQL: one instance vs nginx + 2 instances "
        "(same total workers; needs the Debian nginx and postgresql packages)",
    )
    parser.add_argument("--scaling-duration", type=float, default=3.0, help="seconds per scaling run (3)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs per endpoint, each paired with a floor run; medians are reported (3)",
    )
    parser.add_argument("--startup-runs", type=int, default=3, help="start-up measurements (3)")
    parser.add_argument("--family-valueset", help="canonical URL of the value set for $expand/$validate-code")
    parser.add_argument("--out", type=Path, help="results folder (bench/results)")
    parser.add_argument("--work-dir", type=Path, help="generated content and logs (var/bench)")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG")
    parser.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="instead of the benchmark: re-check the targets of a saved result, redraw its PNG, print it",
    )
    parser.add_argument(
        "--profile",
        metavar="NAMES",
        help="instead of the benchmark: profile these endpoints in-process with pyinstrument "
        "(comma-separated, e.g. order-sign,lookup,expand-filter-100k)",
    )
    parser.add_argument("--profile-requests", type=int, default=2000, help="requests per profiled endpoint")
    parser.add_argument(
        "--py-spy",
        metavar="NAMES",
        help="instead of the benchmark: sample one gunicorn worker with py-spy while these endpoints are "
        "under load (comma-separated), and print the time per function",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from tools.bench import report, runner
    except ImportError as err:
        print(f"bench: the benchmark harness is not installed ({err}); {INSTALL_HINT}", file=sys.stderr)
        return 2

    settings = runner.Settings(
        duration=args.duration,
        warmup=args.warmup,
        workers=args.workers,
        connections=args.connections,
        load_generator=args.load_generator,
        compare_loadgen=args.compare_loadgen,
        scaling=not args.no_scaling,
        scale_out=args.scale_out,
        scaling_duration=args.scaling_duration,
        startup_runs=args.startup_runs,
        repeat=args.repeat,
        plot=not args.no_plot,
    )
    if args.family_valueset:
        settings.family_valueset = args.family_valueset
    if args.out:
        settings.out_dir = args.out
    if args.work_dir:
        settings.work_dir = args.work_dir
    if args.report:
        import orjson

        results = orjson.loads(args.report.read_bytes())
        results["targets"] = report.evaluate_targets(results)
        report.write(results, args.report)
        if not args.no_plot:
            from tools.bench.plot import plot

            plot(results, args.report.with_suffix(".png"))
        print(report.table(results))
        return 0
    if args.py_spy:
        from tools.bench import profile

        known = profile.endpoints_by_name(settings.family_valueset)
        names = [n.strip() for n in args.py_spy.split(",") if n.strip()]
        unknown = [n for n in names if n not in known]
        if unknown:
            print(f"unknown endpoint(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
            return 2
        for name, text in runner.profile_under_load(settings, [known[n] for n in names]).items():
            print(f"\n=== {name} (py-spy, one worker under load)\n{text}")
        return 0
    if args.profile:
        return run_profile(settings, [n.strip() for n in args.profile.split(",") if n.strip()], args)
    results = runner.run(settings)
    path, png = runner.save(results, settings)
    print(report.table(results))
    print(f"results: {path}" + (f"\nplot: {png}" if png else ""))
    return 0


def run_profile(settings: object, names: list[str], args: argparse.Namespace) -> int:
    import tempfile

    from plugin.app import create_app
    from tools.bench import content, profile, runner, scenarios
    from tools.bench.floor import create_floor_app

    assert isinstance(settings, runner.Settings)
    known = profile.endpoints_by_name(settings.family_valueset)
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"unknown endpoint(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return 2
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    folder = content.write_content(settings.work_dir / f"content-{runner.CONTENT_VERSION}", runner.SIZES)
    with tempfile.TemporaryDirectory(prefix="cpt-bench-") as tmp:
        config = runner.write_config(Path(tmp) / "bench.toml", settings.work_dir, [folder])
        app = create_app(config_file=config)
        floor_ms = profile.per_request_ms(
            create_floor_app(), scenarios.floor_endpoint(), args.profile_requests
        )
        print(f"floor app through the test client: {floor_ms:.3f} ms per request")
        for name in names:
            html = settings.work_dir / "profiles" / f"{name}.html"
            try:
                text, per_request = profile.profile(app, known[name], args.profile_requests, html)
            except RuntimeError as err:
                print(f"\n=== {name}: not profiled: {err}")
                continue
            print(
                f"\n=== {name}: {per_request:.3f} ms per request in-process "
                f"({per_request / floor_ms:.1f}x the floor); HTML: {html}"
            )
            print(text)
    return 0
