"""`cpt-plugin content`: build the fact tables from official release files; load an ICD-10-CM tabular.

cpt-plugin content build RELEASE... [--facts DIR] [--diff] [--report-dir DIR] [--check]
cpt-plugin content icd10cm [TABULAR_XML] [--write FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from plugin.config import PROJECT_ROOT

DEFAULT_FACTS = PROJECT_ROOT / "cds_hooks" / "facts"
DEFAULT_FAMILY = PROJECT_ROOT / "fhir_bundles" / "valuesets" / "ecmo-ecls-family.json"
DEFAULT_FRAGMENT = PROJECT_ROOT / "fhir_bundles" / "codesystems" / "cpt-ecmo-fragment.json"
DEFAULT_HCPCS_FRAGMENT = PROJECT_ROOT / "fhir_bundles" / "codesystems" / "hcpcs-modifiers-fragment.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("content", help="build fact tables from CMS releases; load ICD-10-CM")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    build = actions.add_parser(
        "build",
        help="read CMS release files and write the fact tables of cds_hooks/facts/",
        description=(
            "Reads each RELEASE file (or the .csv/.txt files of a RELEASE folder), recognised by its "
            "header: CMS PFS Relative Value File (PPRRVU CSV), NCCI PTP edits (ccipra/ccioph text), NCCI "
            "MUE tables (CSV), NCCI add-on code edits (tab-delimited text), the CMS HCPCS Level II file "
            "(fixed-width HCPCyyyy_..._ANWEB text). Writes the tables for the ECMO/ECLS family and the "
            "HCPCS modifiers the product uses atomically: a wrong or truncated file stops the build with "
            "file and line, and nothing is written."
        ),
    )
    build.add_argument("releases", nargs="+", type=Path, metavar="RELEASE", help="release files or folders")
    build.add_argument(
        "--facts", type=Path, default=DEFAULT_FACTS, help="fact tables folder (cds_hooks/facts)"
    )
    build.add_argument(
        "--family", type=Path, default=DEFAULT_FAMILY, help="ValueSet listing the family codes"
    )
    build.add_argument(
        "--cpt-fragment",
        type=Path,
        default=DEFAULT_FRAGMENT,
        help="the CPT CodeSystem whose global-days and add-on properties follow the release",
    )
    build.add_argument(
        "--hcpcs-fragment",
        type=Path,
        default=DEFAULT_HCPCS_FRAGMENT,
        help="the HCPCS Level II CodeSystem whose modifiers are looked up and whose status and dates follow "
        "the HCPCS release",
    )
    build.add_argument("--diff", action="store_true", help="print and write what changed (Markdown and JSON)")
    build.add_argument(
        "--report-dir", type=Path, default=Path("build"), help="where --diff writes content-diff.md/.json"
    )
    build.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when the tables would change"
    )
    build.set_defaults(func=run_build)
    icd = actions.add_parser(
        "icd10cm", help="load an ICD-10-CM tabular XML and report (or write) the CodeSystem"
    )
    icd.add_argument("tabular", nargs="?", type=Path, help="CDC tabular XML (default: the bundled release)")
    icd.add_argument("--write", type=Path, help="write the CodeSystem as FHIR JSON to this file")
    icd.set_defaults(func=run_icd10cm)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def run_build(args: argparse.Namespace) -> int:
    from plugin.content.releases import ReleaseError, copies_of, read_release, release_files
    from plugin.content.releases.build import FILE_NAMES, build, family_codes
    from plugin.content.releases.diff import current_tables, diff, markdown
    from plugin.content.releases.fhir_updates import (
        HCPCS,
        fragment_codes,
        read_fragment,
        update_fragment,
        update_hcpcs_fragment,
    )
    from plugin.content.releases.writing import render, write, write_json

    old = current_tables(args.facts)
    try:
        tables = [read_release(path) for path in release_files(args.releases)]
        if not tables:
            raise ReleaseError(", ".join(map(str, args.releases)), None, "no release files found")
        hcpcs = read_fragment(args.hcpcs_fragment, HCPCS, "HCPCS Level II")
        built = build(
            tables,
            family_codes(args.family),
            copies=copies_of(args.releases),
            modifiers=fragment_codes(hcpcs),
            current=old,
        )
        fragments = {
            args.cpt_fragment: update_fragment(read_fragment(args.cpt_fragment), built.tables),
            args.hcpcs_fragment: update_hcpcs_fragment(hcpcs, built.tables),
        }
    except ReleaseError as exc:
        print(f"cpt-plugin content build: {exc}; nothing written", file=sys.stderr)
        return 1
    for warning in built.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.diff:
        report = diff(old, built.tables)
        report["fhir"] = {str(path.name): changes for path, (_, changes) in fragments.items()}
        text = markdown(report)
        print(text, end="")
        args.report_dir.mkdir(parents=True, exist_ok=True)
        (args.report_dir / "content-diff.md").write_text(text, encoding="utf-8")
        (args.report_dir / "content-diff.json").write_text(
            json.dumps(report, indent=2) + "\n", encoding="utf-8"
        )
    if args.check:
        stale = [
            table_id for table_id, data in built.tables.items()
            if not (args.facts / FILE_NAMES[table_id]).is_file()
            or (args.facts / FILE_NAMES[table_id]).read_text(encoding="utf-8") != render(data)
        ]  # fmt: skip
        for table_id in stale:
            print(f"{args.facts / FILE_NAMES[table_id]}: differs from the build of the releases given")
        for path, (_, changes) in fragments.items():
            for change in changes:
                print(f"{path}: {change['code']} {change['property']} would change to {change['to']}")
        return 1 if stale or any(changes for _, changes in fragments.values()) else 0
    for path in write(args.facts, built):
        print(f"wrote {path}")
    for path, (fragment, changes) in fragments.items():
        if changes:
            write_json(path, fragment)
            print(f"wrote {path} ({len(changes)} properties changed)")
    return 0


def run_icd10cm(args: argparse.Namespace) -> int:
    from plugin.content.icd10cm import TabularError, load_tabular

    try:
        system = load_tabular(args.tabular)
    except TabularError as exc:
        print(f"cpt-plugin content icd10cm: {exc}", file=sys.stderr)
        return 1
    print(
        f"{system['url']}|{system['version']}: {system['count']} concepts ({system['description'][:60]}...)"
    )
    if args.write:
        args.write.write_text(json.dumps(system, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {args.write}")
    return 0
