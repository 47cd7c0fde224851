"""Language tags (BCP 47) and language preference lists (Accept-Language, displayLanguage).

Matching works at three depths, the way terminology servers pick displays: the full tag
(`en-AU` = `en-AU`), language and region, and language only (`en` matches `en-AU`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FULL, REGION, LANGUAGE = 3, 2, 1

_TAG = re.compile(r"^(\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)$")


class LanguageError(ValueError):
    """A language tag or Accept-Language header that cannot be parsed."""


@dataclass(frozen=True)
class Language:
    code: str
    quality: float = 1.0

    @property
    def language(self) -> str:
        return self.code.split("-", 1)[0].lower()

    @property
    def region(self) -> str:
        for part in self.code.split("-")[1:]:
            if len(part) == 2 and part.isalpha() or len(part) == 3 and part.isdigit():
                return part.upper()
        return ""

    @property
    def is_wildcard(self) -> bool:
        return self.code == "*"

    def matches(self, other: Language | str | None, depth: int = LANGUAGE) -> bool:
        """Whether this (requested) language accepts `other` (a stated language) at `depth`."""
        if other is None:
            return False
        stated = other if isinstance(other, Language) else Language(other)
        if self.is_wildcard:
            return True
        if self.language != stated.language:
            return False
        if depth >= REGION and self.region and self.region != stated.region:
            return False
        return not (depth >= FULL and self.code.lower() != stated.code.lower())

    def __str__(self) -> str:
        return self.code


@dataclass
class Languages:
    """An ordered preference list; highest quality first, source order among equals."""

    items: list[Language] = field(default_factory=list)
    source: str = ""

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    @property
    def preferred(self) -> Language | None:
        return next((lang for lang in self.items if lang.quality > 0 and not lang.is_wildcard), None)

    def codes(self) -> list[str]:
        return [lang.code for lang in self.items]

    def summary(self) -> str:
        """How messages name the requested languages: as the client wrote them."""
        return self.source.strip() if self.source else ",".join(lang.code for lang in self.items)

    def matches(self, stated: str | None, depth: int = LANGUAGE) -> bool:
        return any(lang.quality > 0 and lang.matches(stated, depth) for lang in self.items)

    def is_english_or_nothing(self) -> bool:
        return not self.items or all(lang.language == "en" or lang.is_wildcard for lang in self.items)


def parse_language(code: str) -> Language:
    code = code.strip()
    if not _TAG.match(code):
        raise LanguageError(f"Invalid language code '{code}'")
    return Language(code)


def parse_accept_language(header: str | None) -> Languages:
    """Parse `en, en-AU;q=0.4, *` into a preference list. Raises LanguageError on junk."""
    if not header or not header.strip():
        return Languages(source=header or "")
    items: list[tuple[float, int, Language]] = []
    for index, piece in enumerate(header.split(",")):
        piece = piece.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        quality = 1.0
        params = params.strip()
        if params:
            name, _, value = params.partition("=")
            if name.strip().lower() != "q":
                raise LanguageError(f"Invalid language preference '{piece}'")
            try:
                quality = float(value.strip())
            except ValueError as exc:
                raise LanguageError(f"Invalid language quality '{piece}'") from exc
            if not 0 <= quality <= 1:
                raise LanguageError(f"Invalid language quality '{piece}'")
        lang = parse_language(tag)
        items.append((quality, index, Language(lang.code, quality)))
    items.sort(key=lambda t: (-t[0], t[1]))
    return Languages([lang for _, _, lang in items], source=header)
