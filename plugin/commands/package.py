"""`cpt-plugin package`: write the published content as a FHIR NPM package (folder and package.tgz)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plugin.config import ConfigError, load_settings, resolve_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "package",
        help="write every published FHIR resource as a FHIR NPM package (package/ and package.tgz)",
        description=(
            "Writes OUT/package/package.json, OUT/package/.index.json and one JSON file per published "
            "resource (CodeSystem, ValueSet, ConceptMap, Questionnaire; not the synthetic patients), and "
            "OUT/package.tgz, the tarball terminology servers and IG tools load. The same content always "
            "gives the same bytes."
        ),
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder (created when missing)")
    parser.add_argument(
        "--content",
        type=Path,
        action="append",
        help="folder of FHIR resources to package (repeatable; default: [content] fhir_bundles)",
    )
    parser.add_argument("--name", help="package name (default cpt-plugin.ecmo)")
    parser.add_argument(
        "--version", dest="package_version", help="package version (default: the version of our resources)"
    )
    parser.add_argument("--config", help="TOML configuration file (else $CPT_PLUGIN_CONFIG)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from plugin.publish.package import (
        PACKAGE_NAME,
        PackageError,
        build_package,
        published_resources,
        write_package,
    )

    try:
        settings = load_settings(config_file=args.config)
    except ConfigError as exc:
        print(f"cpt-plugin package: {exc}", file=sys.stderr)
        return 2
    folders = args.content or [resolve_path(settings, settings["content"]["fhir_bundles"])]
    try:
        package = build_package(
            published_resources(folders), name=args.name or PACKAGE_NAME, version=args.package_version
        )
    except PackageError as exc:
        print(f"cpt-plugin package: {exc}", file=sys.stderr)
        return 1
    target = write_package(package, args.out)
    count = len(package.index["files"])
    print(f"wrote {package.name}#{package.version}: {count} resources in {args.out / 'package'} and {target}")
    return 0
