"""The dated fact snapshots in cds_hooks/facts/ (NCCI PTP, add-on, MUE, PFS indicators, POS, payers).

Each file keeps its source and as-of date; the rules read them through these lookups and cite them.
Code lists may hold ranges ("99211-99215") for numeric CPT codes; an explicitly listed code wins over
a range when two rows of one table disagree.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plugin.cds_hooks.errors import RuleError


@dataclass(frozen=True)
class CodeSet:
    explicit: frozenset[str]
    ranges: tuple[tuple[int, int], ...]

    @classmethod
    def parse(cls, items: list[str], where: str) -> CodeSet:
        explicit: set[str] = set()
        ranges: list[tuple[int, int]] = []
        for item in items:
            if re.fullmatch(r"\d{5}-\d{5}", item):
                low, high = (int(p) for p in item.split("-"))
                if low > high:
                    raise RuleError(f"{where}: range {item!r} runs backwards")
                ranges.append((low, high))
            elif re.fullmatch(r"[0-9A-Z]{5}", item):
                explicit.add(item)
            else:
                raise RuleError(f"{where}: {item!r} is neither a 5-character code nor a numeric range")
        return cls(frozenset(explicit), tuple(ranges))

    def match(self, code: str) -> int:
        """2 = listed explicitly, 1 = inside a range, 0 = not in the set."""
        if code in self.explicit:
            return 2
        if code.isdigit() and len(code) == 5 and any(lo <= int(code) <= hi for lo, hi in self.ranges):
            return 1
        return 0


@dataclass(frozen=True)
class PtpEdit:
    column1: CodeSet
    column2: CodeSet
    row: dict[str, Any]


@dataclass
class Tables:
    """Every facts file by id, plus the indexes the binders use."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    family: frozenset[str] = frozenset()
    ptp: list[PtpEdit] = field(default_factory=list)
    add_ons: dict[str, dict[str, Any]] = field(default_factory=dict)
    mue: dict[str, dict[str, Any]] = field(default_factory=dict)
    payer_patterns: list[tuple[dict[str, Any], re.Pattern[str]]] = field(default_factory=list)
    # Per payer pattern: its words in lower case when they are all ASCII, else None (see classify_payer).
    payer_words: list[tuple[str, ...] | None] = field(default_factory=list)

    def ptp_edit(self, column1: str, column2: str) -> dict[str, Any] | None:
        """The PTP row for the pair (column1, column2), preferring explicit listings over ranges."""
        best: tuple[int, dict[str, Any]] | None = None
        for edit in self.ptp:
            m1, m2 = edit.column1.match(column1), edit.column2.match(column2)
            if m1 and m2 and (best is None or m1 + m2 > best[0]):
                best = (m1 + m2, edit.row)
        return best[1] if best else None

    def classify_payer(self, text: str) -> dict[str, Any] | None:
        # For ASCII text and ASCII words, case-insensitive matching is plain ASCII case folding, so a
        # pattern can match only where the lower-cased text contains one of its lower-cased words:
        # the substring test skips the regex for payers that cannot match.
        lowered = text.lower() if text.isascii() else None
        for (payer, pattern), words in zip(self.payer_patterns, self.payer_words, strict=True):
            if lowered is not None and words is not None:
                for word in words:
                    if word in lowered:
                        break
                else:
                    continue  # none of its words is in the text
            if pattern.search(text):
                return payer
        return None

    def source_of(self, table_id: str) -> list[dict[str, Any]]:
        data = self.files[table_id]
        if "sources" in data:
            return list(data["sources"])
        return [{**data["source"], "asOf": data["source"].get("asOf", data.get("asOf"))}]


def dated_label(source: dict[str, Any]) -> str:
    """A source as cards name it: its label with its as-of date, unless the label already gives it;
    a source whose date the research did not record says so instead of showing a placeholder."""
    label = str(source.get("label", ""))
    as_of = source.get("asOf")
    if not as_of or as_of == "undated":
        return f"{label} (date not given)"
    # A full date already in the label ("NCCI PTP edits (practitioner, 2024-07-01)") is not repeated;
    # a bare year may name an edition ("CPT 2015 ...") rather than the as-of date, so it is.
    as_of = str(as_of)
    return label if len(as_of) >= 7 and as_of in label else f"{label} (as of {as_of})"


def _required(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise RuleError(f"{where}: missing {key!r}")
    return data[key]


def load_tables(folder: Path) -> Tables:
    tables = Tables()
    for path in sorted(folder.glob("*.json")):
        where = str(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise RuleError(f"{where}: cannot read JSON: {exc}") from exc
        table_id = _required(data, "id", where)
        _required(data, "asOf", where)
        if "source" not in data and "sources" not in data:
            raise RuleError(f"{where}: a facts file names its source")
        if table_id in tables.files:
            raise RuleError(f"{where}: duplicate facts id {table_id!r}")
        tables.files[table_id] = data
    _index(tables)
    return tables


def _index(tables: Tables) -> None:
    files = tables.files
    for i, row in enumerate(files.get("ncci-ptp-practitioner", {}).get("rows", [])):
        where = f"facts ncci-ptp-practitioner rows[{i}]"
        tables.ptp.append(
            PtpEdit(CodeSet.parse(row["column1"], where), CodeSet.parse(row["column2"], where), row)
        )
    for row in files.get("ncci-add-on-codes", {}).get("rows", []):
        tables.add_ons[row["addOn"]] = row
    for row in files.get("ncci-mue", {}).get("rows", []):
        for code in row["codes"]:
            tables.mue[code] = row
    for payer in files.get("payer-classification", {}).get("payers", []):
        words = "|".join(re.escape(p) for p in payer["patterns"])
        tables.payer_patterns.append(
            (payer, re.compile(rf"(?<![a-z0-9])({words})(?![a-z0-9])", re.IGNORECASE))
        )
        ascii_words = all(p.isascii() for p in payer["patterns"])
        tables.payer_words.append(tuple(p.lower() for p in payer["patterns"]) if ascii_words else None)
