"""Official CMS release files -> the dated fact tables in cds_hooks/facts/ (`cpt-plugin content build`).

Each reader recognises its file by the header line (never by trusting the name alone), checks every
row and stamps the release; `build` turns the rows for the family codes into the tables the CDS
rules read, and `diff` says what changed against the tables in place.
"""

from __future__ import annotations

import json
from pathlib import Path

from plugin.content.releases.common import ReleaseError, Table, read_lines
from plugin.content.releases.hcpcs import is_hcpcs, read_hcpcs
from plugin.content.releases.ncci import is_aoc, is_mue, is_ptp, read_aoc, read_mue, read_ptp
from plugin.content.releases.pfs import is_pprrvu, read_pprrvu

__all__ = ["ReleaseError", "Table", "copies_of", "read_release", "release_files"]

SUFFIXES = (".csv", ".txt")


def release_files(paths: list[Path]) -> list[Path]:
    """The .csv/.txt files named, or found directly in the folders named (README and the like skipped)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES))
        elif path.is_file():
            found.append(path)
        else:
            raise ReleaseError(path, None, "no such file or folder")
    return found


def copies_of(paths: list[Path]) -> dict[str, str]:
    """File name -> the copy its rows were read on, from provenance.json in each folder named (if any)."""
    found: dict[str, str] = {}
    for path in paths:
        note = path / "provenance.json" if path.is_dir() else path.parent / "provenance.json"
        if note.is_file():
            try:
                files = json.loads(note.read_text(encoding="utf-8")).get("files", {})
            except (ValueError, AttributeError) as exc:
                raise ReleaseError(note, None, f"not a provenance file: {exc}") from exc
            found.update({str(k): str(v) for k, v in files.items()})
    return found


def read_release(path: Path) -> Table:
    """Read one file by the layout its header shows."""
    head = read_lines(path)[:20]
    if is_pprrvu(head):
        return read_pprrvu(path)
    if is_ptp(head):
        return read_ptp(path)
    if is_mue(head):
        return read_mue(path)
    if is_aoc(head):
        return read_aoc(path)
    if is_hcpcs(head):
        return read_hcpcs(path)
    raise ReleaseError(
        path,
        None,
        "not a recognised release layout (PPRRVU CSV, NCCI PTP, MUE, add-on code or HCPCS Level II file)",
    )
