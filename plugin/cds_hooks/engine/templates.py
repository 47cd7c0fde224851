"""The template language of card text: `{name.path}` placeholders filled from the binding.

A placeholder names a fact the rule's binder provides (checked at load, like condition facts). Values
are written as a reader expects them: null as "unknown", booleans as "yes"/"no", a whole float
without ".0", a list as "a, b" (or "none" when empty). Everything else in the text is kept as it is.
Each text compiles once to a function of the binding.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
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


def _text(value: Any) -> str:
    # format_value is the text itself for a str and str() for an int: skip the call for those.
    cls = value.__class__
    if cls is str:
        return value
    if cls is int:
        return str(value)
    return format_value(value)


def compile_template(text: str) -> Template:
    """Card text as a function of the binding: its literal pieces joined with the formatted facts."""
    pieces: list[tuple[str, Any]] = []  # (literal, None) or ("", getter)
    last = 0
    for match in _PLACEHOLDER.finditer(text):
        if match.start() > last:
            pieces.append((text[last : match.start()], None))
        pieces.append(("", fact_getter(match.group(1))))
        last = match.end()
    if not pieces:
        return lambda _b: text
    if last < len(text):
        pieces.append((text[last:], None))
    if len(pieces) == 1:
        get = pieces[0][1]
        return lambda b: _text(get(b))
    parts = tuple(pieces)

    def render_text(b: Binding) -> str:
        return "".join([literal if get is None else _text(get(b)) for literal, get in parts])

    return render_text


_compiled_templates = functools.lru_cache(maxsize=4096)(compile_template)


def render(text: str, binding: Binding) -> str:
    """Render a template text (compiled once per distinct text; rule texts are a small fixed set)."""
    return _compiled_templates(text)(binding)
