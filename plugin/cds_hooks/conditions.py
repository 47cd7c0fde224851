"""The small condition language of the rule files, compiled once at load time.

A condition is JSON:
  {"all": [c, ...]}  {"any": [c, ...]}  {"not": c}
  {"eq": [a, b]}  {"ne": [a, b]}  {"lt": [a, b]}  {"le": [a, b]}  {"gt": [a, b]}  {"ge": [a, b]}
  {"in": [a, [v, ...]]}  {"exists": a}  {"fact": "name.path"}  (truthiness of a fact)
where an operand is {"fact": "name.path"} or a JSON literal. Fact names are checked against the fields
the rule's binder provides, so a typo fails at load, not on a patient. An ordering comparison with a
missing (null) operand is false: "age below the code's minimum" is false when the code has no minimum.
Placeholders in card text (`{name.path}`) use the same fact names.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

Binding = dict[str, Any]
Condition = Callable[[Binding], bool]
Operand = Callable[[Binding], Any]


class RuleError(ValueError):
    """Rule data that cannot be compiled; the message names the file, the rule and the problem."""


_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*)\}")


def lookup(binding: Binding, path: str) -> Any:
    return _lookup_parts(binding, tuple(path.split(".")))


def _lookup_parts(binding: Binding, parts: tuple[str, ...]) -> Any:
    value: Any = binding
    for part in parts:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _getter(path: str) -> Operand:
    """A function of the binding reading `path`, split once here rather than on every call."""
    parts = tuple(path.split("."))
    if len(parts) == 1:
        (name,) = parts
        return lambda b: b.get(name)
    if len(parts) == 2:
        first, second = parts

        def two(b: Binding) -> Any:
            value = b.get(first)
            return value.get(second) if isinstance(value, dict) else None

        return two
    return lambda b: _lookup_parts(b, parts)


def _check_fact(path: Any, fields: set[str], where: str) -> str:
    if not isinstance(path, str) or path not in fields:
        known = ", ".join(sorted(fields))
        raise RuleError(f"{where}: unknown fact {path!r} (this rule's facts: {known})")
    return path


def _operand(expr: Any, fields: set[str], where: str) -> Operand:
    if isinstance(expr, dict):
        if set(expr) != {"fact"}:
            raise RuleError(f"{where}: an operand is a literal or {{'fact': name}}, got {expr!r}")
        return _getter(_check_fact(expr["fact"], fields, where))
    if isinstance(expr, list):
        values = list(expr)
        return lambda _b: values
    return lambda _b: expr


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
            return False
        try:
            return op(a, b)
        except TypeError:
            return False

    return compare


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": _ordered(lambda a, b: a < b),
    "le": _ordered(lambda a, b: a <= b),
    "gt": _ordered(lambda a, b: a > b),
    "ge": _ordered(lambda a, b: a >= b),
}


def compile_condition(expr: Any, fields: set[str], where: str) -> Condition:
    """Compile a condition to a function of the binding; raises RuleError on anything unknown."""
    if expr is None or expr is True:
        return lambda _b: True
    if not isinstance(expr, dict) or len(expr) != 1:
        raise RuleError(f"{where}: a condition is an object with exactly one operator, got {expr!r}")
    ((op, arg),) = expr.items()
    if op in ("all", "any"):
        if not isinstance(arg, list) or not arg:
            raise RuleError(f"{where}: {op!r} takes a non-empty list of conditions")
        parts = [compile_condition(a, fields, f"{where}.{op}[{i}]") for i, a in enumerate(arg)]
        if op == "all":
            return lambda b: all(p(b) for p in parts)
        return lambda b: any(p(b) for p in parts)
    if op == "not":
        inner = compile_condition(arg, fields, f"{where}.not")
        return lambda b: not inner(b)
    if op == "fact":
        getter = _getter(_check_fact(arg, fields, where))
        return lambda b: bool(getter(b))
    if op == "exists":
        value = _operand(arg, fields, where)
        return lambda b: value(b) not in (None, "", [], {})
    if op in _COMPARE or op == "in":
        if not isinstance(arg, list) or len(arg) != 2:
            raise RuleError(f"{where}: {op!r} takes exactly two operands")
        left, right = (_operand(a, fields, where) for a in arg)
        if op == "in":
            return lambda b: _contains(right(b), left(b))
        compare = _COMPARE[op]
        return lambda b: compare(left(b), right(b))
    raise RuleError(f"{where}: unknown operator {op!r}")


def _contains(collection: Any, item: Any) -> bool:
    if isinstance(item, list):
        return isinstance(collection, list) and any(i in collection for i in item)
    return isinstance(collection, list) and item in collection


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def check_template(text: Any, fields: set[str], where: str) -> None:
    if not isinstance(text, str):
        raise RuleError(f"{where}: expected text, got {text!r}")
    for path in placeholders(text):
        _check_fact(path, fields, where)


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


@functools.lru_cache(maxsize=4096)
def _template(text: str) -> tuple[tuple[str, Operand | None], ...]:
    """Card text split once into (literal, fact getter) pieces; rule texts are a small fixed set."""
    pieces: list[tuple[str, Operand | None]] = []
    last = 0
    for match in _PLACEHOLDER.finditer(text):
        pieces.append((text[last : match.start()], _getter(match.group(1))))
        last = match.end()
    pieces.append((text[last:], None))
    return tuple(pieces)


def render(text: str, binding: Binding) -> str:
    pieces = _template(text)
    if len(pieces) == 1:
        return text
    return "".join(
        literal + format_value(getter(binding)) if getter is not None else literal
        for literal, getter in pieces
    )


def fields_of(prefixes: Iterable[tuple[str, Iterable[str]]]) -> set[str]:
    """Fact names from (prefix, [field, ...]) pairs, plus each prefix itself."""
    names: set[str] = set()
    for prefix, keys in prefixes:
        names.add(prefix)
        names.update(f"{prefix}.{k}" for k in keys)
    return names
