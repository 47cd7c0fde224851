"""What every release reader shares: the release stamp, errors that name file and line, row reading."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any


class ReleaseError(ValueError):
    """A release file that is not what it claims, or is cut short; the message names file and line."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Release:
    """One published file: which dataset, which release, where it came from."""

    kind: str  # pfs-rvu | ncci-ptp | ncci-mue | ncci-aoc | hcpcs
    stamp: str  # "NCCI PTP 2024-Q3", as outputs and cards name it
    effective: str  # ISO date the release takes effect (or was released, for the PFS file)
    file: str
    publisher_url: str
    setting: str = ""  # practitioner | outpatient-hospital, for NCCI tables

    def as_json(self) -> dict[str, Any]:
        out = {"stamp": self.stamp, "effective": self.effective, "file": self.file, "url": self.publisher_url}
        if self.setting:
            out["setting"] = self.setting
        return out


@dataclass
class Table:
    release: Release
    rows: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def quarter(effective: date) -> str:
    return f"{effective.year}-Q{(effective.month - 1) // 3 + 1}"


def read_lines(path: Path) -> list[str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReleaseError(path, None, f"cannot read: {exc}") from exc
    # CMS text files are Windows-1252 with CRLF line ends; UTF-8 is accepted too.
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    return text.splitlines()


def rows(lines: list[str], delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each line, cells stripped; blank lines skipped."""
    reader = csv.reader(lines, delimiter=delimiter)
    for number, cells in enumerate(reader, start=1):
        cells = [c.strip() for c in cells]
        if any(cells):
            yield number, cells


def norm(cell: str) -> str:
    """A header cell compared loosely: lower case, single spaces, no quotes."""
    return re.sub(r"\s+", " ", cell.replace('"', "")).strip().lower()


def yyyymmdd(value: str, path: Path, line: int, what: str) -> str | None:
    """A CMS date cell (YYYYMMDD; `*` = no date) as ISO, or None."""
    value = value.strip()
    if value in ("", "*"):
        return None
    if not re.fullmatch(r"\d{8}", value):
        raise ReleaseError(path, line, f"{what} {value!r} is not a YYYYMMDD date")
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:])).isoformat()
    except ValueError as exc:
        raise ReleaseError(path, line, f"{what} {value!r} is not a calendar date") from exc


CODE = re.compile(r"^[0-9A-Z]{4}[0-9A-Z]$")


def hcpcs(value: str, path: Path, line: int, what: str) -> str:
    value = value.strip().upper()
    if not CODE.match(value):
        raise ReleaseError(path, line, f"{what} {value!r} is not a 5-character CPT/HCPCS code")
    return value
