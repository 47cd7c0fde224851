"""The CMS HCPCS Level II file (the alpha-numeric HCPCS file, `HCPCyyyy_MON_ANWEB...txt`).

Fixed-width records, no header line (layout as CMS publishes it in the alpha-numeric HCPCS zip; the
positions below are 1-based and inclusive):

    1-5     HCPC: a Level II code (A0021) or, on modifier records, a 2-character modifier in 4-5
    6-10    sequence number: 00100 on a code's first record, +100 on each continuation record
    11      record identification code: 3 procedure, 4 procedure continuation, 7 modifier,
            8 modifier continuation
    12-91   long description (continuation records carry the rest of it, and end here)
    92-119  short description
    120-229 pricing indicators, CIM/MCM references, statute, lab certification, cross-references
    230     coverage code
    231-268 ASC and OPPS data, processing note, BETOS, type of service, anesthesia base units
    269-276 code added date (YYYYMMDD)
    277-284 action effective date (YYYYMMDD)
    285-292 termination date (YYYYMMDD, blank = none)
    293     action code (e.g. A added, D discontinued, N no change)

A file may start with CMS's note on coverage and payment indicators (the `_w_disclaimer` files); any
other line that is not a record stops the read with file and line. The release comes from the name
CMS gives the file (`HCPC2020_ANWEB...`: the annual January file; `HCPC2024_APR_ANWEB...`: a quarterly
one) or, failing that, from the note's "CMS' yyyy HCPCS Update".
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from plugin.content.releases.common import Release, ReleaseError, Table, quarter, read_lines, yyyymmdd

PUBLISHER_URL = (
    "https://www.cms.gov/medicare/coding-billing/healthcare-common-procedure-system/quarterly-update"
)
RECORD = re.compile(r"^(?P<hcpc>[A-Z0-9 ]{5})(?P<seq>\d{5})(?P<rid>[3478])")
PROCEDURE = re.compile(r"^[A-V]\d{4}$")
MODIFIER = re.compile(r"^   [0-9A-Z]{2}$")
FIRST_LINE_END = 293  # a first record is cut if it ends before the action code
MONTHS = {"JAN": 1, "APR": 4, "JUL": 7, "OCT": 10}
NAME = re.compile(r"HCPC(\d{4})(?:_(JAN|APR|JUL|OCT))?", re.IGNORECASE)
NOTE = re.compile(r"CMS\W{0,2}\s(\d{4}) HCPCS Update")


def is_hcpcs(lines: list[str]) -> bool:
    """The first record line (after the optional note) has the HCPCS record layout."""
    for line in lines[:20]:
        found = RECORD.match(line)
        if found and found.group("seq") == "00100" and found.group("rid") in "37":
            return _code(found.group("hcpc"), found.group("rid")) is not None
    return False


def _code(hcpc: str, rid: str) -> str | None:
    """The code a record is about, or None when the HCPC field does not fit the record id."""
    if rid in "34":
        return hcpc if PROCEDURE.match(hcpc) else None
    return hcpc.strip() if MODIFIER.match(hcpc) else None


def _release(path: Path, lines: list[str]) -> Release:
    named = NAME.search(path.name)
    noted = next((NOTE.search(line) for line in lines[:12] if NOTE.search(line)), None)
    if named and noted and named.group(1) != noted.group(1):
        raise ReleaseError(
            path, None, f"the name says {named.group(1)}, the note says {noted.group(1)} HCPCS Update"
        )
    if not named and not noted:
        raise ReleaseError(
            path, None, "cannot tell the release year (CMS names the file HCPCyyyy_MON_ANWEB...)"
        )
    year = int((named or noted).group(1))  # type: ignore[union-attr]
    month = MONTHS[named.group(2).upper()] if named and named.group(2) else 1  # the annual file: January
    effective = date(year, month, 1)
    return Release("hcpcs", f"HCPCS {quarter(effective)}", effective.isoformat(), path.name, PUBLISHER_URL)


def read_hcpcs(path: Path) -> Table:
    lines = read_lines(path)
    table = Table(_release(path, lines))
    current: dict[str, Any] | None = None
    started = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        found = RECORD.match(line)
        if not found:
            if started:
                raise ReleaseError(path, number, "not an HCPCS record (HCPC, sequence, record id 3/4/7/8)")
            continue  # CMS's note above the records
        started = True
        hcpc, seq, rid = found.group("hcpc"), found.group("seq"), found.group("rid")
        code = _code(hcpc, rid)
        if code is None:
            kind = "a modifier in positions 4-5" if rid in "78" else "a Level II code (A0000-V9999)"
            raise ReleaseError(path, number, f"record id {rid} needs {kind}, found {hcpc!r}")
        if rid in "37":
            if seq != "00100":
                raise ReleaseError(path, number, f"{code}: first record has sequence {seq}, not 00100")
            if len(line) < FIRST_LINE_END:
                raise ReleaseError(
                    path, number, f"{code}: record ends at {len(line)} characters, before the action "
                    f"code in position {FIRST_LINE_END} (truncated?)"
                )  # fmt: skip
            current = _first_record(code, rid, line, path, number)
            table.rows.append(current)
            continue
        expected = None if current is None else f"{current['seq'] + 100:05d}"
        if (
            current is None
            or current["code"] != code
            or current["rid"] != str(int(rid) - 1)
            or seq != expected
        ):
            raise ReleaseError(
                path, number, f"continuation record {code} {seq} does not follow its first record"
            )
        current["seq"] = int(seq)
        current["parts"].append(line[11:91])
    if not table.rows:
        raise ReleaseError(path, len(lines), "no HCPCS records (truncated?)")
    for row in table.rows:
        row["longDescription"] = " ".join(p.strip() for p in row.pop("parts") if p.strip())
        del row["seq"], row["rid"]
    return table


def _first_record(code: str, rid: str, line: str, path: Path, number: int) -> dict[str, Any]:
    action = line[292]
    if not re.fullmatch(r"[A-Z]", action):
        raise ReleaseError(path, number, f"{code}: action code {action!r} (position 293) is not a letter")
    coverage = line[229].strip()
    if coverage and not re.fullmatch(r"[A-Z]", coverage):
        raise ReleaseError(path, number, f"{code}: coverage code {coverage!r} (position 230) is not a letter")
    return {
        "code": code,
        "kind": "procedure" if rid == "3" else "modifier",
        "rid": rid,
        "seq": 100,
        "parts": [line[11:91]],
        "shortDescription": line[91:119].strip(),
        "coverage": coverage or None,
        "added": yyyymmdd(line[268:276], path, number, f"{code} added date (269-276)"),
        "actionEffective": yyyymmdd(line[276:284], path, number, f"{code} action effective date (277-284)"),
        "terminated": yyyymmdd(line[284:292], path, number, f"{code} termination date (285-292)"),
        "actionCode": action,
        "line": number,
    }


# -- the fact table ----------------------------------------------------------------------------
LEVEL_TWO = re.compile(r"^[A-V]\d{4}$")
CODE_FIELDS = ("column1", "column2", "codes", "addOn", "primaries")


def level_two_codes(tables: dict[str, dict[str, Any]]) -> set[str]:
    """The HCPCS Level II codes (A0000-V9999) the rows of fact tables name, e.g. G0463 in a PTP edit."""
    found: set[str] = set()
    for table in tables.values():
        rows = [*table.get("rows", []), *table.get("deletedRows", [])]
        rows += table.get("outpatientHospital", {}).get("rows", [])
        for row in rows:
            for key in CODE_FIELDS:
                value = row.get(key)
                for code in value if isinstance(value, list) else [value]:
                    if isinstance(code, str) and LEVEL_TWO.match(code):
                        found.add(code)
    return found


def _entry(row: dict[str, Any], effective: str) -> dict[str, Any]:
    retired = row["terminated"] is not None and row["terminated"] < effective
    return {
        "status": "retired" if retired else "active",
        "longDescription": row["longDescription"],
        "shortDescription": row["shortDescription"],
        "coverage": row["coverage"],
        "added": row["added"],
        "actionEffective": row["actionEffective"],
        "terminated": row["terminated"],
        "actionCode": row["actionCode"],
    }


def hcpcs_table(
    table: Table, modifiers: set[str], codes: set[str], source_id: str, warnings: list[str]
) -> dict[str, Any]:
    """The `hcpcs-level-ii` fact table: the release's records of the modifiers and Level II codes the
    product uses, keyed by code; those the release does not list are named in `notInRelease`."""
    release = table.release
    by_code = {row["code"]: row for row in table.rows}
    wanted = {"modifier": modifiers, "procedure": codes}
    out: dict[str, dict[str, Any]] = {"modifier": {}, "procedure": {}}
    missing = []
    for kind, names in wanted.items():
        for code in sorted(names):
            row = by_code.get(code)
            if row is None or row["kind"] != kind:
                missing.append(code)
                continue
            out[kind][code] = entry = _entry(row, release.effective)
            if entry["status"] == "retired":
                warnings.append(f"{release.file}:{row['line']}: {code} is terminated ({row['terminated']})")
    if missing:
        warnings.append(f"{release.file}: not in {release.stamp}: {', '.join(missing)}")
    return {
        "id": "hcpcs-level-ii",
        "title": "CMS HCPCS Level II records of the modifiers and Level II codes the product uses",
        "asOf": release.effective,
        "release": release.as_json(),
        "source": {
            "label": f"CMS HCPCS Level II alpha-numeric file ({release.stamp})",
            "url": release.publisher_url,
            "detail": f"built from {release.file} by cpt-plugin content build",
            "confidence": "High",
            "asOf": release.effective,
            "id": source_id.format(year=release.effective[:4]),
        },
        "caveat": (
            "HCPCS Level II codes and modifiers change every quarter; these are the records of the release "
            "named. Descriptions are CMS's own text (public domain); the published CodeSystem keeps its "
            "own plain-language displays. status is retired when the termination date is before the release."
        ),
        "modifiers": out["modifier"],
        "codes": out["procedure"],
        "notInRelease": missing,
    }
