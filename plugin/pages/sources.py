"""The sources a page cites, numbered once each, so every fact on the page can point at its sources.

Two shapes of citation reach a page: the dated source objects of the fact snapshots and rules
({label, url, asOf, confidence}), and the source strings of the FHIR content (a concept's `source`
property, a ConceptMap target's "... Source: A; B. As of 2024-07-01." comment), where several
citations are joined with semicolons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_AS_OF = re.compile(r"\s*As of ([0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?)\.?\s*$")


@dataclass(frozen=True)
class Source:
    label: str
    url: str | None = None
    as_of: str | None = None
    detail: str | None = None
    confidence: str | None = None

    def as_json(self, number: int) -> dict[str, Any]:
        optional = {"url": self.url, "asOf": self.as_of, "detail": self.detail, "confidence": self.confidence}
        return {"n": number, "label": self.label} | {k: v for k, v in optional.items() if v}


@dataclass
class SourceBook:
    """Sources in the order a page first cites them; citing one again gives the same number."""

    _numbers: dict[Source, int] = field(default_factory=dict)
    # For a citation that gives no date of its own: the newest as-of of the content citing it.
    _cited_as_of: dict[Source, str] = field(default_factory=dict)

    def cite(self, source: Source) -> int:
        return self._numbers.setdefault(source, len(self._numbers) + 1)

    def cite_fact_source(self, data: dict[str, Any], as_of: str | None = None) -> int:
        """A source object of a facts file or a rule; its own asOf wins over the file's."""
        own = data.get("asOf") or as_of
        return self.cite(
            Source(
                label=str(data.get("label", "")),
                url=data.get("url") or None,
                as_of=None if own in (None, "", "undated") else str(own),
                detail=data.get("detail") or None,
                confidence=data.get("confidence") or None,
            )
        )

    def cite_text(self, text: str | None, cited_as_of: str | None = None) -> list[int]:
        """Each citation of a FHIR source string (semicolon-separated outside parentheses), dated as
        the citation itself dates it; one that gives no date keeps the as-of of the content citing it."""
        numbers = []
        for part in split_citations(text or ""):
            source = Source(label=part, as_of=date_in(part))
            numbers.append(self.cite(source))
            if source.as_of is None and cited_as_of:
                self._cited_as_of[source] = max(self._cited_as_of.get(source, ""), cited_as_of)
        return numbers

    def as_json(self) -> list[dict[str, Any]]:
        return [
            source.as_json(number)
            | ({"citedAsOf": self._cited_as_of[source]} if source in self._cited_as_of else {})
            for source, number in self._numbers.items()
        ]


_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_ISO = re.compile(r"\b((?:19|20)[0-9]{2}-[01][0-9](?:-[0-3][0-9])?)\b")
_US = re.compile(r"\b([01][0-9])-([0-3][0-9])-((?:19|20)[0-9]{2})\b")
_MONTH_YEAR = re.compile(rf"\b({'|'.join(_MONTHS)})(?: [0-9]{{1,2}},)? ((?:19|20)[0-9]{{2}})\b")
_YEAR = re.compile(r"(?<![0-9])(?:CY|FY)?((?:19|20)[0-9]{2})(?![0-9])")


def date_in(citation: str) -> str | None:
    """The date a citation gives itself ("2024-07-01", "07-01-2024", "February 2015", "CY2023"), as
    an ISO date or month or year; None when it names none (the page then says the date is not given)."""
    for pattern in (_ISO, _US, _MONTH_YEAR, _YEAR):
        match = pattern.search(citation)
        if match is None:
            continue
        if pattern is _US:
            return f"{match.group(3)}-{match.group(1)}-{match.group(2)}"
        if pattern is _MONTH_YEAR:
            return f"{match.group(2)}-{_MONTHS.index(match.group(1)) + 1:02d}"
        return match.group(1)
    return None


def split_citations(text: str) -> list[str]:
    """'A (x; y); B' -> ['A (x; y)', 'B']: semicolons inside parentheses or quotes do not split."""
    parts: list[str] = []
    depth, quoted, start = 0, False, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == "'" and quoted and (i + 1 == len(text) or not text[i + 1].isalnum()):
            quoted = False
        elif char == "'" and (i == 0 or not text[i - 1].isalnum()):
            quoted = True
        elif char == ";" and depth == 0 and not quoted:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip().rstrip(".").strip() for p in parts if p.strip()]


def split_comment(comment: str | None) -> tuple[str, str, str | None]:
    """A ConceptMap target comment "<reason> Source: <citations>. As of <date>." as its three parts;
    a comment without "Source:" is all reason."""
    text = (comment or "").strip()
    as_of = None
    match = _AS_OF.search(text)
    if match:
        as_of = match.group(1)
        text = text[: match.start()].rstrip()
    reason, marker, citations = text.partition(" Source: ")
    if not marker:
        reason, marker, citations = text.partition("Source: ")
    return reason.strip(), citations.strip().rstrip("."), as_of
