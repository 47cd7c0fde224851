"""A compiled (jsonschema_rs) twin of each JSON Schema, for the yes/no question on the request path.

The Python `jsonschema` validator stays the reference: it alone produces error messages, and it alone
rejects. The twin only answers "valid" early, so it must never accept what the reference rejects.
The engines read a few regular-expression escapes differently (the twin follows ECMA-262, the
reference Python's `re`), so every `pattern` is rewritten for the twin into a form that means the
same in both: `\\s`, `\\d` and `\\w` become explicit classes of exactly the characters Python's `re`
gives them, `.` becomes "anything but a newline", and `$` becomes "end, or before a final newline".
tests/cds_hooks/test_fast_schema_agreement.py checks the two agree on a corpus of valid, mutated and
edge-case requests, and character by character on every pattern in cds_hooks/schemas/.
"""

from __future__ import annotations

import array
import copy
import functools
import re
import sys
from collections.abc import Callable
from typing import Any

import jsonschema_rs

IsValid = Callable[[Any], bool]


@functools.cache
def _every_character() -> str:
    return array.array("I", range(sys.maxunicode + 1)).tobytes().decode("utf-32-le", "surrogatepass")


@functools.cache
def _python_class(escape: str) -> str:
    """The members of Python's `\\s` / `\\d` / `\\w` (str patterns) as class ranges, without brackets."""
    spans = [(m.start(), m.end() - 1) for m in re.finditer(f"\\{escape}+", _every_character())]

    def char(code: int) -> str:
        return f"\\u{{{code:X}}}"

    return "".join(char(lo) if lo == hi else f"{char(lo)}-{char(hi)}" for lo, hi in spans)


_CLASS_ESCAPES = {"s", "d", "w"}
_NEGATED = {"S": "s", "D": "d", "W": "w"}


def portable_pattern(pattern: str) -> str:
    """`pattern` rewritten so that an ECMA-262 engine matches exactly the strings Python's re.search does."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt in _CLASS_ESCAPES:
                members = _python_class(nxt)
                out.append(members if in_class else f"[{members}]")
            elif nxt in _NEGATED and not in_class:
                out.append(f"[^{_python_class(_NEGATED[nxt])}]")
            elif nxt in _NEGATED:
                raise ValueError(f"pattern {pattern!r}: a negated class escape inside [...] is not supported")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]" and out[-1] not in ("[", "[^"):
                in_class = False
            out.append(ch)
        elif ch == "[":
            in_class = True
            if pattern.startswith("[^", i):
                out.append("[^")
                i += 2
                continue
            out.append("[")
        elif ch == ".":
            out.append("[^\\n]")
        elif ch == "$":
            out.append("(?=\\n?\\z)")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _portable(node: Any) -> Any:
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                result[key] = portable_pattern(value)
            elif key == "patternProperties" and isinstance(value, dict):
                result[key] = {portable_pattern(k): _portable(v) for k, v in value.items()}
            else:
                result[key] = _portable(value)
        return result
    if isinstance(node, list):
        return [_portable(item) for item in node]
    return node


def build_fast_validators(documents: dict[str, dict[str, Any]]) -> dict[str, IsValid]:
    """name -> is_valid of the compiled twin of each schema document (resolving $refs among them)."""
    portable = {name: _portable(copy.deepcopy(doc)) for name, doc in documents.items()}
    _every_character.cache_clear()  # 4 MB, needed only while the patterns are rewritten
    registry = jsonschema_rs.Registry([(doc["$id"], doc) for doc in portable.values() if "$id" in doc])
    return {
        name: jsonschema_rs.validator_for(doc, registry=registry, validate_formats=False).is_valid
        for name, doc in portable.items()
    }
