"""PTP code ranges from the curated overlay (annotations.json `ptpRanges`) merged into built rows.

The release excerpt of one PTP release lists only the end codes of a range the dated summary gives
(e.g. 99211 and 99215 for E/M 99211-99215); the overlay states the range and its source, and the
build writes the range in place of those codes, so every code inside it keeps its edit. It applies
only to the release the overlay names: a full CMS file lists every code itself.
"""

from __future__ import annotations

from typing import Any


def in_item(code: str, item: str) -> bool:
    """`code` is `item`, or lies inside the range `item` ("99211-99215", numeric or same-suffix)."""
    if "-" not in item:
        return code == item
    low, high = item.split("-", 1)
    if len(code) != len(low) or len(low) != len(high):
        return False
    if low.isdigit() and high.isdigit() and code.isdigit():
        return int(low) <= int(code) <= int(high)
    return low <= code <= high


def covered(code: str, items: list[str]) -> bool:
    return any(in_item(code, item) for item in items)


def _collapse(codes: list[str], ranges: list[str]) -> tuple[list[str], list[str]]:
    """Codes inside one of `ranges` replaced by that range; returns (new list, ranges used)."""
    out: list[str] = []
    used: list[str] = []
    for code in codes:
        hit = next((r for r in ranges if "-" in r and in_item(code, r)), None)
        if hit is None:
            out.append(code)
        elif hit not in used:
            used.append(hit)
            out.append(hit)
    return out, used


def apply_ranges(rows: list[dict[str, Any]], overlay: dict[str, Any] | None, stamp: str) -> list[str]:
    """Rewrite `rows` in place with the overlay's ranges for release `stamp`; the ranges used."""
    if not overlay or overlay.get("release") != stamp:
        return []
    used_all: list[str] = []
    for row in rows:
        for entry in overlay["rows"]:
            if row["modifierIndicator"] != entry["modifierIndicator"]:
                continue
            if (row.get("rationale") or None) != (entry.get("rationale") or None):
                continue
            for side, other in (("column2", "column1"), ("column1", "column2")):
                if not all(covered(code, entry[other]) for code in row[other]):
                    continue
                collapsed, used = _collapse(row[side], entry[side])
                if used:
                    row[side] = collapsed
                    row.setdefault("rangesFromSummary", []).extend(used)
                    used_all.extend(used)
    return used_all
