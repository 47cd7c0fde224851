"""ValueSet.compose filters (`property op value`) evaluated against a code system view.

Hierarchy filters (is-a, descendent-of, is-not-a, generalizes, child-of, descendent-leaf) work on the
concept tree; property filters (=, in, not-in, regex, exists) on concept properties and on the
built-in properties (code, display, status, inactive, notSelectable, parent, child). Regular
expressions run on RE2 (google-re2), whose matching time is linear in the text: a pattern that
backtracks catastrophically in a backtracking engine (`(a+)+b`) is answered correctly and quickly
instead of being refused. What RE2 cannot express (back-references, look-around) is refused as an
invalid regular expression.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import re2

from plugin.terminology.model.codesystem import CodeSystemView, Concept, primitive

MAX_PATTERN_LENGTH = 1000
HIERARCHY_OPS = {"is-a", "descendent-of", "is-not-a", "generalizes", "child-of", "descendent-leaf"}
PROPERTY_OPS = {"=", "in", "not-in", "regex", "exists"}

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a bad pattern is the caller's error, answered in the response
_RE2_OPTIONS.max_mem = 8 << 20  # bounds the compiled program; RE2 stays linear-time within it


class UnsafePatternError(ValueError):
    """A regular expression the server cannot run (invalid, or beyond RE2's syntax or limits)."""


class UnknownFilterError(ValueError):
    """A filter the code system cannot evaluate."""


class Pattern(Protocol):
    def fullmatch(self, text: str) -> Any: ...


def compile_regex(pattern: str) -> Pattern:
    """The compiled pattern; matching is anchored at both ends by the callers (`fullmatch`), as a
    FHIR `regex` filter matches the whole property value."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise UnsafePatternError(f"the regular expression is longer than {MAX_PATTERN_LENGTH} characters")
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise UnsafePatternError(f"'{pattern}' is not a valid regular expression: {reason}") from exc


@dataclass
class Filter:
    """One compiled filter: `matches(concept)`, and optionally the candidate codes it can yield."""

    matches: Callable[[Concept], bool]
    candidates: Callable[[], list[str]] | None = None
    # is-a / descendent-of: (the code, whether the code itself is in), for views that can answer a
    # subtree and a text filter together (`text_in_subtree`).
    subtree: tuple[str, bool] | None = None


def compile_filter(view: CodeSystemView, prop: str, op: str, value: str) -> Filter:
    """Compile one filter; UnknownFilterError if the code system cannot evaluate it, UnsafePatternError
    for a regex the server refuses to run."""
    if prop in ("concept", "code") and op in HIERARCHY_OPS:
        return _hierarchy(view, op, value)
    if op not in PROPERTY_OPS:
        raise UnknownFilterError(f"{prop} {op}")
    getter = _property_getter(view, prop)
    if getter is None:
        raise UnknownFilterError(f"{prop} {op}")
    if op == "exists":
        wanted = str(value).lower() == "true"
        return Filter(lambda c: bool(getter(c)) == wanted)
    if op == "regex":
        pattern = compile_regex(value)
        return Filter(lambda c: any(pattern.fullmatch(v) for v in getter(c)))
    if op == "=":
        return _equals(view, prop, value, getter)
    items = {v.strip() for v in str(value).split(",") if v.strip()}
    if op == "in":
        if prop in ("concept", "code"):
            return Filter(lambda c: c.code in items, lambda: [c for c in items if view.locate(c)])
        return Filter(lambda c: any(v in items for v in getter(c)))
    return Filter(lambda c: not any(v in items for v in getter(c)))  # not-in


def _equals(view: CodeSystemView, prop: str, value: str, getter: Callable[[Concept], list[str]]) -> Filter:
    if prop in ("concept", "code"):
        found = view.locate(value)
        return Filter(
            lambda c: found is not None and c.code == found.code, lambda: [found.code] if found else []
        )
    return Filter(lambda c: value in getter(c))


def _hierarchy(view: CodeSystemView, op: str, value: str) -> Filter:
    root = view.locate(value)
    if root is None:
        return Filter(lambda c: op == "is-not-a", lambda: [])
    code = root.code
    if op in ("is-a", "descendent-of", "is-not-a", "descendent-leaf"):
        below = _Subtree(view, code, include_self=op in ("is-a", "is-not-a"))
        if op == "is-not-a":
            return Filter(lambda c: not below.holds(c))
        if op == "descendent-leaf":
            return Filter(
                lambda c: not c.children and below.holds(c),
                lambda: [c for c in below.codes() if not view.concepts[c].children],
            )
        return Filter(below.holds, below.codes, (code, op == "is-a"))
    codes = list(root.children) if op == "child-of" else [code, *view.ancestors(code)]  # generalizes
    members = set(codes)
    return Filter(lambda c: c.code in members, lambda: codes)


class _Subtree:
    """A code and/or its descendants. A few membership questions walk up from the concept asked
    about (cheap for one $validate-code in a large hierarchy); past that, or when an expansion
    lists the codes, the subtree is collected once and answers by set lookup."""

    WALK_LIMIT = 32

    def __init__(self, view: CodeSystemView, code: str, *, include_self: bool) -> None:
        self.view = view
        self.code = code
        self.include_self = include_self
        self.members: set[str] | None = None
        self.walks = 0

    def codes(self) -> list[str]:
        found = ([self.code] if self.include_self else []) + self.view.descendants(self.code)
        self.members = set(found)
        return found

    def holds(self, concept: Concept) -> bool:
        if self.members is None:
            if self.walks < self.WALK_LIMIT:
                self.walks += 1
                if concept.code == self.code:
                    return self.include_self
                return self.code in self.view.ancestors(concept.code)
            self.codes()
        assert self.members is not None
        return concept.code in self.members


def text_in_subtree(view: CodeSystemView, filters: list[Filter], text: str) -> Sequence[Concept] | None:
    """One is-a / descendent-of filter with a text filter, on a view that answers both at once (the
    ICD-10-CM view numbers its concepts in tree order: plugin/content/icd10cm_view.py); None when the
    view cannot, or there are other filters."""
    answer = getattr(view, "text_in_subtree", None)
    if answer is None or len(filters) != 1 or filters[0].subtree is None:
        return None
    code, include_self = filters[0].subtree
    return answer(code, include_self, text)  # type: ignore[no-any-return]


def admitted(
    view: CodeSystemView,
    filters: list[Filter],
    index: Any,
    text: str | None,
    admissible: Callable[[Concept], bool],
) -> list[Concept]:
    """The concepts an include's filters (and the text filter, searched in `index`) admit, in the first
    filter's candidate order, or in code system order when the text matches are fewer."""
    text_hits = index.search(text) if index is not None and text else None
    candidates = filters[0].candidates
    codes = candidates() if candidates else [c.code for c in view]
    if text_hits is not None and len(text_hits) < len(codes):
        codes = [c.code for c in index.matching(text)]
    chosen = []
    for code in codes:
        concept = view.locate(code)
        if concept is not None and admissible(concept) and (text_hits is None or concept.code in text_hits):
            chosen.append(concept)
    return chosen


def _property_getter(view: CodeSystemView, prop: str) -> Callable[[Concept], list[str]] | None:
    if prop in ("concept", "code"):
        return lambda c: [c.code]
    if prop == "display":
        return lambda c: [d.value for d in c.designations]
    if prop == "definition":
        return lambda c: [c.definition] if c.definition else []
    if prop == "modified":
        # Enumerated concepts are never expressions (CPT's `modified` property; see cpt.py).
        return lambda c: ["false"]
    definition = view.property_defs.get(prop)
    if definition is not None or _used_as_property(view, prop):
        # A property the code system states: compare what it says, literally (an absent value
        # matches neither true nor false).
        return lambda c: [_text(p) for p in c.properties if p.get("code") == prop]
    if prop == "status":
        return lambda c: [view.status(c) or "active"]
    if prop == "inactive":
        return lambda c: ["true" if view.is_inactive(c) else "false"]
    if prop in ("notSelectable", "abstract"):
        return lambda c: ["true" if view.is_abstract(c) else "false"]
    if prop == "parent":
        return lambda c: list(c.parents)
    if prop == "child":
        return lambda c: list(c.children)
    return None


def _used_as_property(view: CodeSystemView, prop: str) -> bool:
    return prop in view.used_property_codes()


def _text(prop: dict[str, Any]) -> str:
    value = primitive(prop)
    if isinstance(value, dict):  # Coding
        return str(value.get("code", ""))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
