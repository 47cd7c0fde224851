"""The CMS Physician Fee Schedule national Relative Value File (PPRRVU, CSV form).

Layout (as CMS publishes it in the RVUyyA-D zip, e.g. PPRRVU23_JAN.csv): a few title lines (the
release title, "RELEASED mm/dd/yyyy"), then a header of several lines whose last line starts
`HCPCS,MOD,DESCRIPTION,CODE,...`; the 31 columns below are read by position, as the file defines
them. The national payment amount is total RVUs x the file's conversion factor: the amount before
the geographic (GPCI) adjustment, before sequestration and other adjustments.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from plugin.content.releases.common import Release, ReleaseError, Table, hcpcs, norm, read_lines, rows

PUBLISHER_URL = "https://www.cms.gov/medicare/payment/fee-schedules/physician/pfs-relative-value-files"
LAST_HEADER = [
    "hcpcs", "mod", "description", "code", "payment", "rvu", "pe rvu", "indicator", "pe rvu", "indicator",
    "rvu", "total", "total", "ind", "days", "op", "op", "op", "proc", "surg", "surg", "surg", "surg",
    "base", "factor", "procedures", "flag", "indicator", "amount", "amount", "amount",
]  # fmt: skip
COLUMNS = {
    "hcpcs": 0, "mod": 1, "status": 3, "work": 5, "nonFacilityPe": 6, "nonFacilityNa": 7, "facilityPe": 8,
    "facilityNa": 9, "mp": 10, "nonFacilityTotal": 11, "facilityTotal": 12, "pcTc": 13, "global": 14,
    "multipleProcedure": 18, "bilateral": 19, "assistant": 20, "coSurgeon": 21, "team": 22,
    "conversionFactor": 24,
}  # fmt: skip
MONTHS = {"JAN": "A", "APR": "B", "JUL": "C", "OCT": "D"}


def is_pprrvu(lines: list[str]) -> bool:
    return any(norm(line).startswith("hcpcs,mod,description,") for line in lines[:20])


def _amount(value: str, path: Path, line: int, what: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise ReleaseError(path, line, f"{what} {value!r} is not a number") from exc


def read_pprrvu(path: Path) -> Table:
    lines = read_lines(path)
    title, released, header_at = "", None, None
    for number, cells in rows(lines, ","):
        joined = " ".join(c for c in cells if c)
        if "Relative Value File" in joined and not title:
            title = joined
        found = re.search(r"RELEASED\s+(\d{2}/\d{2}/\d{4})", joined)
        if found:
            released = datetime.strptime(found.group(1), "%m/%d/%Y").date()
        if [norm(c) for c in cells] == LAST_HEADER:
            header_at = number
            break
    if header_at is None:
        raise ReleaseError(path, None, "no PPRRVU header line (HCPCS,MOD,DESCRIPTION,... with 31 columns)")
    year_month = re.search(
        r"(\d{4}) National Physician Fee Schedule Relative Value File (\w+) Release", title
    )
    if not year_month or released is None:
        raise ReleaseError(path, None, "title lines do not name the release year, month and RELEASED date")
    year, month = year_month.group(1), year_month.group(2)[:3].upper()
    letter = MONTHS.get(month, month)
    release = Release(
        "pfs-rvu",
        f"PFS RVU {year}-{letter}",
        released.isoformat(),
        path.name,
        PUBLISHER_URL,
    )
    table = Table(release)
    for number, cells in rows(lines[header_at:], ","):
        line = number + header_at
        if len(cells) != len(LAST_HEADER):
            raise ReleaseError(
                path, line, f"{len(cells)} columns, the layout has {len(LAST_HEADER)} (truncated?)"
            )
        code = hcpcs(cells[0], path, line, "HCPCS")
        row: dict[str, Any] = {key: cells[index] for key, index in COLUMNS.items()}
        row["hcpcs"] = code
        for key in ("work", "nonFacilityPe", "facilityPe", "mp", "nonFacilityTotal", "facilityTotal",
                    "conversionFactor"):  # fmt: skip
            row[key] = _amount(row[key], path, line, key)
        row["line"] = line
        table.rows.append(row)
    if not table.rows:
        raise ReleaseError(path, len(lines), "no code rows after the header (truncated?)")
    return table


def cents(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def code_facts(row: dict[str, Any]) -> dict[str, Any]:
    """One code's indicators, RVUs and national amounts as the facts table states them."""
    factor: Decimal = row["conversionFactor"]
    non_facility_na = row["nonFacilityNa"] == "NA"
    facility_na = row["facilityNa"] == "NA"
    out: dict[str, Any] = {
        "status": row["status"],
        "pcTc": row["pcTc"],
        "global": row["global"],
        "multipleProcedure": row["multipleProcedure"],
        "bilateral": row["bilateral"],
        "assistant": row["assistant"],
        "coSurgeon": row["coSurgeon"],
        "team": row["team"],
    }
    if non_facility_na:
        out["nonFacilityPrice"] = "NA"
    out["rvu"] = {
        "work": str(row["work"]),
        "facilityPe": str(row["facilityPe"]),
        "nonFacilityPe": None if non_facility_na else str(row["nonFacilityPe"]),
        "mp": str(row["mp"]),
        "facilityTotal": str(row["facilityTotal"]),
        "nonFacilityTotal": None if non_facility_na else str(row["nonFacilityTotal"]),
    }
    out["nationalPayment"] = {
        "facility": None if facility_na else cents(row["facilityTotal"] * factor),
        "nonFacility": None if non_facility_na else cents(row["nonFacilityTotal"] * factor),
        "conversionFactor": str(factor),
    }
    return out
