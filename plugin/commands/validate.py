"""`cpt-plugin validate`: check the published FHIR content (and extra folders) and report every problem."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plugin.config import ConfigError, load_settings, resolve_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check every FHIR resource in fhir_bundles/ (and PATHs); non-zero exit on any error",
        description=(
            "Checks every *.json under the configured content folders ([content] fhir_bundles and "
            "paths, plus package tarballs) and under each PATH: JSON syntax, resource type, FHIR R4 "
            "structure (fhir.resources R4B models), unique url|version, references between resources, "
            "codes against the CodeSystems held, declared properties, sources and as-of dates, and "
            "Bundle fullUrl/reference consistency."
        ),
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="extra folders or files to check")
    parser.add_argument(
        "--only", action="store_true", help="check only the PATHs, not the configured content"
    )
    parser.add_argument("--warnings", action="store_true", help="print warnings as well as errors")
    parser.add_argument("--config", help="TOML configuration file (else $CPT_PLUGIN_CONFIG)")
    parser.set_defaults(func=run)


def content_paths(settings: dict, extra: list[str], only: bool) -> list[Path]:
    paths: list[Path] = [] if only else [resolve_path(settings, settings["content"]["fhir_bundles"])]
    if not only:
        paths += [resolve_path(settings, p) for p in settings["content"].get("paths") or []]
        paths += [resolve_path(settings, p) for p in settings["content"].get("packages") or []]
    return paths + [Path(p) for p in extra]


def run(args: argparse.Namespace) -> int:
    from plugin.content import validate_paths

    if args.only and not args.paths:
        print("cpt-plugin validate: --only needs at least one PATH", file=sys.stderr)
        return 2
    try:
        settings = load_settings(config_file=args.config)
    except ConfigError as exc:
        print(f"cpt-plugin validate: {exc}", file=sys.stderr)
        return 2
    report = validate_paths(content_paths(settings, args.paths, args.only))
    for problem in report.problems:
        if problem.severity == "error" or args.warnings:
            print(problem)
    print(report.summary())
    return 0 if report.ok else 1
