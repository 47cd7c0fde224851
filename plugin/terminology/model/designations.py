"""Choosing and checking displays among a concept's designations, language-aware.

A designation list is the concept's display (in the code system's language), its designations and
those added by supplements or by the value set. `preferred` picks what to show for a language
preference list; `has_display` / `display_count` / `present` serve display validation and its
messages. Matching goes from the full tag down to the bare language, as Accept-Language intends.
"""

from __future__ import annotations

from collections.abc import Iterable

from plugin.terminology.model.codesystem import Designation
from plugin.terminology.model.languages import FULL, LANGUAGE, REGION, Language, Languages


def _stated(designation: Designation, base: str | None) -> str | None:
    return designation.language or base


def preferred(
    designations: list[Designation], languages: Languages | None, base: str | None = None
) -> Designation | None:
    if not designations:
        return None
    if not languages:
        for test in (
            lambda d: d.is_display and d.active,
            lambda d: d.preferred and d.active,
            lambda d: d.is_display,
            lambda d: d.preferred,
        ):
            for d in designations:
                if test(d):
                    return d
        return designations[0]
    for lang in languages:
        if lang.quality <= 0:
            continue
        for active_only in (True, False):
            for depth in (FULL, REGION, LANGUAGE):
                for kind in ("preferred", "display", "any"):
                    for d in designations:
                        stated = _stated(d, base)
                        if active_only and not d.active:
                            continue
                        if lang.is_wildcard:
                            matched = True
                        elif stated is None:
                            continue
                        else:
                            matched = lang.matches(stated, depth)
                        if not matched:
                            continue
                        if kind == "preferred" and not d.is_display:
                            continue
                        if kind == "display" and not d.preferred:
                            continue
                        return d
    for d in designations:
        if not d.language and d.preferred:
            return d
    # Unless the client ruled out every other language (`*; q=0`), fall back to the display.
    if not any(lang.is_wildcard and lang.quality <= 0 for lang in languages):
        for d in designations:
            if d.is_display:
                return d
    return None


def _lang_ok(languages: Languages | None, stated: str | None, default_lang: str | None, depth: int) -> bool:
    if default_lang and stated and Language(stated).matches(default_lang, LANGUAGE):
        return True
    if not stated or not languages:
        return True
    return any(lang.quality > 0 and lang.matches(stated, depth) for lang in languages)


def _normalise(text: str) -> str:
    return " ".join(text.split()).lower()


def has_display(
    designations: Iterable[Designation],
    languages: Languages | None,
    default_lang: str | None,
    value: str,
    *,
    active_only: bool = False,
    base: str | None = None,
) -> tuple[bool, str]:
    """(found, difference) - difference is 'normalized' when only whitespace differs."""
    items = [d for d in designations if d.value and (not active_only or d.active)]
    candidates = [d for d in items if _lang_ok(languages, _stated(d, base), default_lang, LANGUAGE)]
    if any(d.value.lower() == value.lower() for d in candidates):
        return True, "exact"
    if any(_normalise(d.value) == _normalise(value) for d in candidates):
        return False, "normalized"
    return False, "none"


def display_count(
    designations: Iterable[Designation],
    languages: Languages | None,
    *,
    displays_only: bool = True,
    base: str | None = None,
) -> int:
    items = [d for d in designations if d.value and (not displays_only or d.preferred)]
    for depth in (FULL, REGION, LANGUAGE):
        count = sum(1 for d in items if _lang_ok(languages, _stated(d, base), None, depth))
        if count:
            return count
    return 0


def present(
    designations: Iterable[Designation],
    languages: Languages | None,
    *,
    displays_only: bool = True,
    base: str | None = None,
) -> str:
    """`'Display 1' (en) or 'Mein erster Code' (de)` - how messages list the valid displays."""
    items = [d for d in designations if d.value and (not displays_only or d.preferred)]
    chosen = [d for d in items if _lang_ok(languages, _stated(d, base), None, LANGUAGE)] or items
    rendered = []
    for d in chosen:
        lang = _stated(d, base)
        rendered.append(f"'{d.value}' ({lang})" if lang else f"'{d.value}'")
    if not rendered:
        return ""
    if len(rendered) == 1:
        return rendered[0]
    return ", ".join(rendered[:-1]) + " or " + rendered[-1]


def status_of(designations: Iterable[Designation], value: str) -> str:
    for d in designations:
        if d.value == value:
            return d.status
    return ""
