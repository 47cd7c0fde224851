"""CMS NCCI tables: procedure-to-procedure (PTP) edits, medically unlikely edits (MUE), add-on codes.

Each reader recognises its file by the header line, checks every row against the layout and stamps
the release from the file name CMS gives it (the rows do not carry it):

- PTP (tab-delimited text in the quarterly zip, e.g. `ccipra_v302r0_f1.txt`): columns Column 1,
  Column 2, in existence prior to 1996 (`*`), Effective Date, Deletion Date (`*` = none), Modifier
  (0 not allowed, 1 allowed, 9 not applicable), PTP Edit Rationale. NCCI version vYYq: YY + 1994 is
  the year, q + 1 the quarter (v30.2 = 2024-Q3). `ccipra` = practitioner; `ccioph` = outpatient hospital.
- MUE (CSV, e.g. `MCR_MUE_PractitionerServices_Eff_07-01-2024.csv`): HCPCS/CPT Code, <Setting>
  Services MUE Values, MUE Adjudication Indicator ("3 Date of Service Edit: Clinical"), MUE Rationale.
- Add-on codes (the AOC workbook saved as tab-delimited text, e.g. `AOC_V2024Q2-MCR.txt`): Add-on
  Code, AOC Del Dt, Primary Code, Primary Code Del Dt, AOC Edit Type, AOC Edit Eff Dt, AOC Edit Del
  Dt, Special Instruction Notes; columns are found by name.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from plugin.content.releases.common import (
    Release,
    ReleaseError,
    Table,
    hcpcs,
    norm,
    quarter,
    read_lines,
    rows,
    yyyymmdd,
)

PTP_URL = (
    "https://www.cms.gov/medicare/coding-billing/national-correct-coding-initiative-ncci-edits/"
    "medicare-ncci-procedure-procedure-ptp-edits"
)
MUE_URL = (
    "https://www.cms.gov/medicare/coding-billing/national-correct-coding-initiative-ncci-edits/"
    "medicare-ncci-medically-unlikely-edits"
)
AOC_URL = "https://www.cms.gov/ncci-medicare/medicare-ncci-add-code-edits"
PTP_SETTINGS = {"ccipra": "practitioner", "ccioph": "outpatient-hospital"}
MUE_SETTINGS = {"practitioner": "practitioner", "outpatient hospital": "outpatient-hospital"}


# -- PTP ---------------------------------------------------------------------------------------
def is_ptp(lines: list[str]) -> bool:
    return _ptp_header(lines) is not None


def _ptp_header(lines: list[str]) -> int | None:
    for number, cells in rows(lines[:12], "\t"):
        names = [norm(c) for c in cells]
        if len(names) >= 2 and names[0] == "column 1" and names[1] == "column 2":
            return number
    return None


def _ptp_release(path: Path) -> Release:
    found = re.search(r"(ccipra|ccioph)[-_]v(\d{2})(\d)r\d", path.name, re.IGNORECASE)
    if not found:
        raise ReleaseError(path, None, "PTP file name does not carry the CMS name (ccipra_vYYqr0...)")
    prefix, major, minor = found.group(1).lower(), int(found.group(2)), int(found.group(3))
    if minor > 3:
        raise ReleaseError(path, None, f"NCCI version {major}.{minor} is not a quarterly release")
    effective = date(1994 + major, 3 * minor + 1, 1)
    return Release(
        "ncci-ptp",
        f"NCCI PTP {quarter(effective)}",
        effective.isoformat(),
        path.name,
        PTP_URL,
        PTP_SETTINGS[prefix],
    )


def read_ptp(path: Path) -> Table:
    lines = read_lines(path)
    header = _ptp_header(lines)
    if header is None:
        raise ReleaseError(path, None, "no PTP header line (Column 1, Column 2, ...)")
    table = Table(_ptp_release(path))
    missing_dates = 0
    for number, cells in rows(lines[header:], "\t"):
        line = number + header
        if not re.match(r"^[0-9A-Z]{5}$", cells[0]):
            if table.rows:
                raise ReleaseError(path, line, f"not a PTP row: {cells[0]!r}")
            continue  # the header's second line
        if len(cells) < 7:
            raise ReleaseError(path, line, f"{len(cells)} columns, the layout has 7 (truncated?)")
        modifier = cells[5]
        if modifier not in ("0", "1", "9"):
            raise ReleaseError(path, line, f"modifier indicator {modifier!r} is not 0, 1 or 9")
        if cells[2] not in ("", "*"):
            raise ReleaseError(path, line, f"prior-to-1996 flag {cells[2]!r} is not '*' or empty")
        effective = yyyymmdd(cells[3], path, line, "effective date")
        if effective is None:
            missing_dates += 1
        table.rows.append(
            {
                "column1": hcpcs(cells[0], path, line, "column 1 code"),
                "column2": hcpcs(cells[1], path, line, "column 2 code"),
                "effective": effective,
                "deletion": yyyymmdd(cells[4], path, line, "deletion date"),
                "modifierIndicator": modifier,
                "rationale": cells[6],
            }
        )
    if not table.rows:
        raise ReleaseError(path, len(lines), "no edit rows after the header (truncated?)")
    if missing_dates:
        table.warnings.append(f"{path.name}: {missing_dates} rows without an effective date")
    return table


# -- MUE ---------------------------------------------------------------------------------------
def _mue_header(lines: list[str]) -> tuple[int, str] | None:
    for number, cells in rows(lines[:12], ","):
        names = [norm(c) for c in cells]
        if len(names) >= 4 and names[0] == "hcpcs/cpt code" and names[2] == "mue adjudication indicator":
            found = re.fullmatch(r"(.+) services mue values", names[1])
            if found and found.group(1) in MUE_SETTINGS:
                return number, MUE_SETTINGS[found.group(1)]
    return None


def is_mue(lines: list[str]) -> bool:
    return _mue_header(lines) is not None


def read_mue(path: Path) -> Table:
    lines = read_lines(path)
    header = _mue_header(lines)
    if header is None:
        raise ReleaseError(
            path, None, "no MUE header line (HCPCS/CPT Code, <Setting> Services MUE Values, ...)"
        )
    at, setting = header
    found = re.search(r"Eff_(\d{2})-(\d{2})-(\d{4})", path.name)
    if not found:
        raise ReleaseError(path, None, "MUE file name does not carry its effective date (..._Eff_MM-DD-YYYY)")
    effective = date(int(found.group(3)), int(found.group(1)), int(found.group(2)))
    table = Table(
        Release(
            "ncci-mue", f"NCCI MUE {quarter(effective)}", effective.isoformat(), path.name, MUE_URL, setting
        )
    )
    for number, cells in rows(lines[at:], ","):
        line = number + at
        if len(cells) < 4:
            raise ReleaseError(path, line, f"{len(cells)} columns, the layout has 4 (truncated?)")
        if not cells[1].isdigit():
            raise ReleaseError(path, line, f"MUE value {cells[1]!r} is not a whole number")
        mai = re.match(r"^([123])\b", cells[2])
        if not mai:
            raise ReleaseError(path, line, f"MUE adjudication indicator {cells[2]!r} is not 1, 2 or 3")
        table.rows.append(
            {
                "code": hcpcs(cells[0], path, line, "HCPCS/CPT code"),
                "mue": int(cells[1]),
                "mai": mai.group(1),
                "rationale": cells[3] or None,
            }
        )
    if not table.rows:
        raise ReleaseError(path, len(lines), "no MUE rows after the header (truncated?)")
    return table


# -- Add-on codes ---------------------------------------------------------------------------------
AOC_COLUMNS = {
    "add-on code": "addOn",
    "aoc del dt": "addOnDeleted",
    "primary code": "primary",
    "primary code del dt": "primaryDeleted",
    "aoc edit type": "editType",
    "aoc edit eff dt": "effective",
    "aoc edit del dt": "deletion",
    "special instruction notes": "notes",
}


def _aoc_header(lines: list[str]) -> tuple[int, dict[str, int]] | None:
    for number, cells in rows(lines[:12], "\t"):
        names = [norm(c) for c in cells]
        if {"add-on code", "primary code", "aoc edit type"} <= set(names):
            return number, {AOC_COLUMNS[n]: i for i, n in enumerate(names) if n in AOC_COLUMNS}
    return None


def is_aoc(lines: list[str]) -> bool:
    return _aoc_header(lines) is not None


def _aoc_date(value: str, path: Path, line: int, what: str) -> str | None:
    """AOC dates: YYYYDDD (year and day of the year) or YYYYMMDD; empty = none."""
    value = value.strip()
    if re.fullmatch(r"\d{7}", value):
        year, day = int(value[:4]), int(value[4:])
        if not 1 <= day <= 366:
            raise ReleaseError(path, line, f"{what} {value!r} is not a YYYYDDD date")
        return (date(year, 1, 1) + timedelta(days=day - 1)).isoformat()
    return yyyymmdd(value, path, line, what)


def read_aoc(path: Path) -> Table:
    lines = read_lines(path)
    header = _aoc_header(lines)
    if header is None:
        raise ReleaseError(
            path, None, "no add-on code header line (Add-on Code, Primary Code, AOC Edit Type, ...)"
        )
    at, columns = header
    missing = sorted(set(AOC_COLUMNS.values()) - set(columns))
    if missing:
        raise ReleaseError(path, at, f"add-on code header lacks columns {missing}")
    found = re.search(r"V(\d{4})Q([1-4])", path.name, re.IGNORECASE)
    if not found:
        raise ReleaseError(path, None, "add-on code file name does not carry its release (AOC_VyyyyQn...)")
    effective = date(int(found.group(1)), 3 * int(found.group(2)) - 2, 1)
    table = Table(
        Release("ncci-aoc", f"NCCI AOC {quarter(effective)}", effective.isoformat(), path.name, AOC_URL)
    )
    width = max(columns.values()) + 1
    for number, cells in rows(lines[at:], "\t"):
        line = number + at
        cells = cells + [""] * (width - len(cells)) if len(cells) >= columns["editType"] + 1 else cells
        if len(cells) < width:
            raise ReleaseError(path, line, f"{len(cells)} columns, the header has {width} (truncated?)")
        edit_type = cells[columns["editType"]]
        if edit_type not in ("1", "2", "3"):
            raise ReleaseError(path, line, f"AOC edit type {edit_type!r} is not 1, 2 or 3")
        primary = cells[columns["primary"]].upper()
        table.rows.append(
            {
                "addOn": hcpcs(cells[columns["addOn"]], path, line, "add-on code"),
                # CMS writes CCCCC where the contractor defines the primary codes (type 2).
                "primary": primary if primary == "CCCCC" else hcpcs(primary, path, line, "primary code"),
                "editType": edit_type,
                "effective": _aoc_date(cells[columns["effective"]], path, line, "AOC edit effective date"),
                "deletion": _aoc_date(cells[columns["deletion"]], path, line, "AOC edit deletion date"),
                "primaryDeleted": _aoc_date(
                    cells[columns["primaryDeleted"]], path, line, "primary deletion date"
                ),
            }
        )
    if not table.rows:
        raise ReleaseError(path, len(lines), "no add-on code rows after the header (truncated?)")
    return table
