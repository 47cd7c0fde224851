"""The template language of card text: `{name.path}` placeholders filled from the binding.

A placeholder names a fact the rule's binder provides (checked at load, like condition facts). Values
are written as a reader expects them: null as "unknown", booleans as "yes"/"no", a whole float
without ".0", a list as "a, b" (or "none" when empty). Everything else in the text is kept as it is.
Each text compiles once to a function of the binding.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

from plugin.cds_hooks.contract import Binding, Template
from plugin.cds_hooks.engine.conditions import check_fact, fact_getter
from plugin.cds_hooks.errors import RuleError

__all__ = ["placeholders", "check_template", "format_value", "compile_template", "render", "is_constant"]

_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*)\}")


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def is_constant(text: str) -> bool:
    """No placeholders: the text renders to itself, so it can be built once at load."""
    return _PLACEHOLDER.search(text) is None


def check_template(text: Any, fields: Iterable[str], where: str) -> None:
    if not isinstance(text, str):
        raise RuleError(f"{where}: expected text, got {text!r}")
    for path in placeholders(text):
        check_fact(path, fields, where)


def format_value(value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple | set):
        return ", ".join(format_value(v) for v in value) if value else "none"
    return str(value)


def _fact_text(path: str) -> Callable[[Binding], str]:
    """A placeholder's fact as text, read and formatted in one call.

    format_value is the text itself for a str and str() for an int: the usual values skip the call.
    """
    parts = path.split(".")
    if len(parts) == 2:
        head, tail = parts

        def two(b: Binding) -> str:
            value = b.get(head)
            value = value.get(tail) if isinstance(value, dict) else None
            cls = value.__class__
            if cls is str:
                return value
            return str(value) if cls is int else format_value(value)

        return two
    get = fact_getter(path)

    def other(b: Binding) -> str:
        value = get(b)
        cls = value.__class__
        if cls is str:
            return value
        return str(value) if cls is int else format_value(value)

    return other


def compile_template(text: str) -> Template:
    """Card text as a function of the binding: its literal pieces joined with the formatted facts.

    The text is cut at its placeholders into literal pieces (one more than there are placeholders),
    with one function per placeholder; a render joins the pieces and the facts' texts in one
    `str.join`. (A `str.format` pattern would parse its pattern again on every call: twice the time
    on the texts of a card.)
    """
    pieces: list[str] = []
    facts: list[Callable[[Binding], str]] = []
    last = 0
    for match in _PLACEHOLDER.finditer(text):
        pieces.append(text[last : match.start()])
        facts.append(_fact_text(match.group(1)))
        last = match.end()
    pieces.append(text[last:])
    if not facts:
        return lambda _b: text
    join = "".join
    # Specialised by count, so most texts cost one call per placeholder and one join.
    if len(facts) == 1:
        (f0,) = facts
        p0, p1 = pieces
        return lambda b: p0 + f0(b) + p1
    if len(facts) == 2:
        f0, f1 = facts
        p0, p1, p2 = pieces
        return lambda b: join((p0, f0(b), p1, f1(b), p2))
    if len(facts) == 3:
        f0, f1, f2 = facts
        p0, p1, p2, p3 = pieces
        return lambda b: join((p0, f0(b), p1, f1(b), p2, f2(b), p3))
    steps = tuple(zip(facts, pieces[1:], strict=True))
    first = pieces[0]

    def every(b: Binding) -> str:
        parts = [first]
        for fact, piece in steps:
            parts.append(fact(b))
            parts.append(piece)
        return join(parts)

    return every


_compiled_templates = functools.lru_cache(maxsize=4096)(compile_template)


def render(text: str, binding: Binding) -> str:
    """Render a template text (compiled once per distinct text; rule texts are a small fixed set)."""
    return _compiled_templates(text)(binding)
