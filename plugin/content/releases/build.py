"""Release tables -> the fact tables of cds_hooks/facts/ (the ids and row shapes the CDS rules read).

Kept compatible with the readers (plugin/cds_hooks/tables.py, edit_binders.py, request_binders.py):
the same table ids, `rows` with the same keys, `modifierIndicators` / `mai` / `meanings` lookups.
New fields: `release` (stamp, effective date, file, publisher URL) on every table, `effective` and
`deletion` on PTP rows, RVUs and national payment amounts per PFS code, `outpatientHospital` rows.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from plugin.content.releases.common import ReleaseError, Table
from plugin.content.releases.hcpcs import hcpcs_table, level_two_codes
from plugin.content.releases.pfs import code_facts
from plugin.content.releases.ranges import apply_ranges

FILE_NAMES = {
    "medicare-pfs-indicators": "pfs-indicators.json",
    "ncci-ptp-practitioner": "ncci-ptp-practitioner.json",
    "ncci-ptp-outpatient-hospital": "ncci-ptp-outpatient-hospital.json",
    "ncci-mue": "ncci-mue.json",
    "ncci-add-on-codes": "ncci-aoc.json",
    "hcpcs-level-ii": "hcpcs-level-ii.json",
}


@dataclass
class Built:
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # table id -> content
    warnings: list[str] = field(default_factory=list)


def annotations() -> dict[str, Any]:
    text = resources.files("plugin.content.releases").joinpath("annotations.json").read_text("utf-8")
    return json.loads(text)


def family_codes(valueset: Path) -> list[str]:
    """The CPT codes a ValueSet lists in compose.include[].concept (the ECMO/ECLS family)."""
    try:
        data = json.loads(valueset.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReleaseError(valueset, None, f"cannot read the family ValueSet: {exc}") from exc
    codes = [c["code"] for inc in data.get("compose", {}).get("include", []) for c in inc.get("concept", [])]
    if not codes:
        raise ReleaseError(valueset, None, "the family ValueSet lists no codes")
    return sorted(set(codes))


def _merge(tables: list[Table]) -> dict[tuple[str, str], Table]:
    """One table per (kind, setting); files of one release (PTP parts f1-f4) are joined."""
    merged: dict[tuple[str, str], Table] = {}
    for table in tables:
        key = (table.release.kind, table.release.setting)
        have = merged.get(key)
        if have is None:
            merged[key] = Table(table.release, list(table.rows), list(table.warnings))
        elif have.release.stamp != table.release.stamp:
            raise ReleaseError(
                table.release.file,
                None,
                f"{table.release.stamp} given together with {have.release.stamp} ({have.release.file}); "
                "build from one release of each table",
            )
        else:
            have.rows.extend(table.rows)
            have.warnings.extend(table.warnings)
            have.release = type(have.release)(
                **{**have.release.__dict__, "file": f"{have.release.file}, {table.release.file}"}
            )
    return merged


def _source(table: Table, label: str, source_id: str, copies: dict[str, str]) -> dict[str, Any]:
    """The table's source; `id` is what rule sentences cite (annotations.json `sourceIds`). A release
    file whose rows were read on a copy (provenance.json beside it) says so in the label and detail."""
    release = table.release
    read_on = [copies[f] for f in release.file.split(", ") if f in copies]
    detail = f"built from {release.file} by cpt-plugin content build"
    if read_on:
        detail += "; the rows were read on a copy, not on the publisher's file: " + "; ".join(read_on)
    return {
        "label": f"{label} ({release.stamp}" + ("; read on a copy)" if read_on else ")"),
        "url": release.publisher_url,
        "detail": detail,
        "confidence": "High",
        "asOf": release.effective,
        "id": source_id.format(year=release.effective[:4]),
    }


def build(
    tables: list[Table],
    family: list[str],
    notes: dict[str, Any] | None = None,
    copies: dict[str, str] | None = None,
    *,
    modifiers: list[str] | None = None,
    current: dict[str, dict[str, Any]] | None = None,
) -> Built:
    """The fact tables of the releases given. `copies` maps a release file name to the copy its rows
    were read on, for a file not taken from the publisher (provenance.json of the releases folder).
    `modifiers` are the HCPCS Level II modifiers the product publishes (the HCPCS CodeSystem fragment);
    `current` the tables in place, whose Level II codes the HCPCS table keeps alongside those of the
    tables built now."""
    notes = notes or annotations()
    notes = {**notes, "_copies": copies or {}}  # carried to _source with the other notes
    merged = _merge(tables)
    built = Built()
    for table in merged.values():
        built.warnings.extend(table.warnings)
    wanted = set(family)
    if ("pfs-rvu", "") in merged:
        built.tables["medicare-pfs-indicators"] = _pfs(merged[("pfs-rvu", "")], wanted, notes, built)
    for setting in ("practitioner", "outpatient-hospital"):
        if ("ncci-ptp", setting) in merged:
            built.tables[f"ncci-ptp-{setting}"] = _ptp(merged[("ncci-ptp", setting)], wanted, notes, built)
    mue = {
        s: merged[("ncci-mue", s)]
        for s in ("practitioner", "outpatient-hospital")
        if ("ncci-mue", s) in merged
    }
    if mue:
        built.tables["ncci-mue"] = _mue(mue, wanted, notes, built)
    if ("ncci-aoc", "") in merged:
        built.tables["ncci-add-on-codes"] = _aoc(merged[("ncci-aoc", "")], wanted, notes)
    if ("hcpcs", "") in merged:
        others = {k: v for k, v in (current or {}).items() if k != "hcpcs-level-ii"}
        codes = level_two_codes({**others, **built.tables})
        built.tables["hcpcs-level-ii"] = hcpcs_table(
            merged[("hcpcs", "")], set(modifiers or []), codes, notes["sourceIds"]["hcpcs-level-ii"],
            built.warnings,
        )  # fmt: skip
        _check_bypass(built.tables["hcpcs-level-ii"], notes, built)
    return built


def _check_bypass(hcpcs: dict[str, Any], notes: dict[str, Any], built: Built) -> None:
    """The Level II bypass modifiers the PTP rows name (XE/XS/XP/XU) must be active in the release."""
    for code in notes["ptpBypass"]["other"]:
        if code.isdigit():
            continue  # a CPT modifier (59), not in the HCPCS file
        entry = hcpcs["modifiers"].get(code)
        if entry is None or entry["status"] != "active":
            state = "not listed" if entry is None else entry["status"]
            built.warnings.append(f"bypass modifier {code} is {state} in {hcpcs['release']['stamp']}")


def _pfs(table: Table, wanted: set[str], notes: dict[str, Any], built: Built) -> dict[str, Any]:
    by_code: dict[str, dict[str, Any]] = {}
    for row in table.rows:
        if row["hcpcs"] in wanted and not row["mod"]:
            facts = by_code[row["hcpcs"]] = code_facts(row)
            payment = facts["nationalPayment"]
            # One headline figure (facility where priced, else non-facility), dated and stamped.
            setting = "facility" if payment["facility"] is not None else "non-facility"
            payment.update(
                amount=payment["facility"] if setting == "facility" else payment["nonFacility"],
                setting=setting,
                currency="USD",
                release=table.release.stamp,
                asOf=table.release.effective,
            )
    if wanted - set(by_code):
        built.warnings.append(
            f"{table.release.file}: no row for family codes {sorted(wanted - set(by_code))}"
        )
    meanings = {k: v for k, v in notes["pfsMeanings"].items() if k != "source"}
    return {
        "id": "medicare-pfs-indicators",
        "title": "Medicare physician fee schedule indicators, RVUs and national amounts (ECMO family)",
        "asOf": table.release.effective,
        "release": table.release.as_json(),
        "source": _source(
            table,
            "CMS PFS national Relative Value File",
            notes["sourceIds"]["medicare-pfs-indicators"],
            notes["_copies"],
        ),
        "meaningsSource": notes["pfsMeanings"]["source"],
        "caveat": (
            "National payment amounts are total RVUs x the file's conversion factor: the national figure "
            "before geographic (GPCI) adjustment, sequestration, coinsurance and any other adjustment, "
            "as of the release named. NA = no price in that setting."
        ),
        "meanings": meanings,
        "codes": {code: by_code[code] for code in sorted(by_code)},
    }


def _bypass(code: str, notes: dict[str, Any]) -> list[str]:
    em = notes["ptpBypass"]["evaluationAndManagement"]
    in_range = code.isdigit() and any(
        int(lo) <= int(code) <= int(hi) for lo, hi in (r.split("-") for r in em["ranges"])
    )
    return list(em["modifiers"]) if in_range or code in em["codes"] else list(notes["ptpBypass"]["other"])


def _pair_note(column1: str, column2: str, bypass: list[str], notes: dict[str, Any]) -> str | None:
    for note in notes["ptpNotes"]:
        if column1 in note["column1"] and column2 in note["column2"]:
            return str(note["note"])
    return None


def _ptp(table: Table, wanted: set[str], notes: dict[str, Any], built: Built) -> dict[str, Any]:
    effective = table.release.effective
    active, deleted = [], []
    for row in table.rows:
        if row["column1"] in wanted or row["column2"] in wanted:
            (deleted if row["deletion"] and row["deletion"] <= effective else active).append(row)
    rows = _group_pairs(active, notes)
    table_id = f"ncci-ptp-{table.release.setting}"
    ranged = apply_ranges(rows, notes.get("ptpRanges"), table.release.stamp)
    out: dict[str, Any] = {
        "id": table_id,
        "title": f"CMS NCCI procedure-to-procedure edits, {table.release.setting.replace('-', ' ')} file "
        "(every edit involving an ECMO family code)",
        "asOf": effective,
        "release": table.release.as_json(),
        "source": _source(
            table,
            f"CMS NCCI PTP edits, {table.release.setting.replace('-', ' ')}",
            notes["sourceIds"][table_id],
            notes["_copies"],
        ),
        "bypassSource": notes["ptpBypass"]["source"],
        "caveat": "PTP edits change every quarter; these are the edits of the release named.",
        "modifierIndicators": notes["ptpModifierIndicators"],
        "rows": rows,
        "deletedRows": _group_pairs(deleted, notes),
    }
    if ranged:
        # Rows marked `rangesFromSummary` carry ranges from the curated overlay, not the file's own rows.
        out["rangeSource"] = notes["ptpRanges"]["source"]
    no_edit = notes["noEdit"]
    paired = {r["column2"] for r in active if r["column1"] == no_edit["with"]}
    paired |= {r["column1"] for r in active if r["column2"] == no_edit["with"]}
    free = [c for c in no_edit["codes"] if c not in paired]
    for code in sorted(set(no_edit["codes"]) - set(free)):
        built.warnings.append(f"{table.release.file}: {code} now has an edit with {no_edit['with']}")
    out["noEdit"] = {
        "codes": free,
        "with": no_edit["with"],
        "note": f"No PTP edit with {no_edit['with']} in {table.release.stamp}. {no_edit['note']}",
    }
    return out


def _group_pairs(pairs: list[dict[str, Any]], notes: dict[str, Any]) -> list[dict[str, Any]]:
    """Pairs -> rows: column 2 codes sharing column 1, indicator, rationale, dates and note; then
    column 1 codes sharing the same column 2 list."""
    first: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    for row in pairs:
        indicator = row["modifierIndicator"]
        bypass = _bypass(row["column2"], notes) if indicator == "1" else []
        note = _pair_note(row["column1"], row["column2"], bypass, notes)
        key = (
            row["column1"],
            indicator,
            row["rationale"],
            row["effective"],
            row["deletion"],
            tuple(bypass),
            note,
        )
        first[key].append(row["column2"])
    second: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    for (column1, *rest), column2 in first.items():
        second[(tuple(sorted(set(column2))), *rest)].append(column1)
    rows = []
    for (column2, indicator, rationale, effective, deletion, bypass, note), column1 in second.items():
        row: dict[str, Any] = {
            "column1": sorted(set(column1)),
            "column2": list(column2),
            "modifierIndicator": indicator,
            "rationale": rationale or None,
            "effective": effective,
            "deletion": deletion,
        }
        if bypass:
            row["bypassModifiers"] = list(bypass)
        if note:
            row["note"] = note
        rows.append(row)
    rows.sort(key=lambda r: (r["column1"][0], r["modifierIndicator"], r["rationale"] or "", r["column2"][0]))
    return rows


def _mue_rows(table: Table, wanted: set[str], notes: dict[str, Any], built: Built) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    seen = set()
    for row in table.rows:
        if row["code"] in wanted:
            seen.add(row["code"])
            note = notes["mueNotes"].get(row["code"])
            groups[(row["mue"], row["mai"], row["rationale"], note)].append(row["code"])
    if wanted - seen:
        built.warnings.append(f"{table.release.file}: no MUE row for family codes {sorted(wanted - seen)}")
    rows = []
    for (mue, mai, rationale, note), codes in groups.items():
        row: dict[str, Any] = {"codes": sorted(codes), "mue": mue, "mai": mai, "rationale": rationale}
        if note:
            row["note"] = note
        rows.append(row)
    rows.sort(key=lambda r: r["codes"][0])
    return rows


def _mue(tables: dict[str, Table], wanted: set[str], notes: dict[str, Any], built: Built) -> dict[str, Any]:
    main = tables.get("practitioner") or next(iter(tables.values()))
    out: dict[str, Any] = {
        "id": "ncci-mue",
        "title": "CMS NCCI medically unlikely edits (ECMO family)",
        "asOf": main.release.effective,
        "release": main.release.as_json(),
        "source": _source(
            main,
            f"CMS NCCI MUE, {main.release.setting.replace('-', ' ')}",
            notes["sourceIds"]["ncci-mue"],
            notes["_copies"],
        ),
        "maiSource": notes["mueMai"]["source"],
        "caveat": "MUE values change every quarter; these are the values of the release named.",
        "mai": {k: v for k, v in notes["mueMai"].items() if k != "source"},
        "rows": _mue_rows(tables["practitioner"], wanted, notes, built) if "practitioner" in tables else [],
    }
    if "outpatient-hospital" in tables:
        hospital = tables["outpatient-hospital"]
        out["outpatientHospital"] = {
            "release": hospital.release.as_json(),
            "rows": _mue_rows(hospital, wanted, notes, built),
        }
    return out


def _aoc(table: Table, wanted: set[str], notes: dict[str, Any]) -> dict[str, Any]:
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in table.rows:
        active = not row["deletion"] and not row["primaryDeleted"]
        if active and (row["addOn"] in wanted or row["primary"] in wanted):
            groups[(row["addOn"], row["editType"])].append(row["primary"])
    rows = []
    for (add_on, edit_type), primaries in sorted(groups.items()):
        row: dict[str, Any] = {"addOn": add_on, "primaries": sorted(set(primaries)), "editType": edit_type}
        if add_on in notes["aocNotes"]:
            row["note"] = notes["aocNotes"][add_on]
        rows.append(row)
    return {
        "id": "ncci-add-on-codes",
        "title": "CMS NCCI add-on code edits (ECMO family)",
        "asOf": table.release.effective,
        "release": table.release.as_json(),
        "source": _source(
            table, "CMS NCCI add-on code edits", notes["sourceIds"]["ncci-add-on-codes"], notes["_copies"]
        ),
        "caveat": "Add-on code edits change every quarter; these are the edits of the release named.",
        "rows": rows,
    }
