"""The condition language of the rule files, compiled once at load to a tree of closures.

A condition is JSON:
  {"all": [c, ...]}  {"any": [c, ...]}  {"not": c}
  {"eq": [a, b]}  {"ne": [a, b]}  {"lt": [a, b]}  {"le": [a, b]}  {"gt": [a, b]}  {"ge": [a, b]}
  {"in": [a, [v, ...]]}  {"exists": a}  {"fact": "name.path"}  (truthiness of a fact)
where an operand is {"fact": "name.path"} or a JSON literal. A missing condition (or `true`) always
holds. Fact names are checked against the fields the rule's binder provides, so a typo fails at load,
not on a patient. An ordering comparison with a missing (null) or boolean operand, or with values that
do not order, is false: "age below the code's minimum" is false when the code has no minimum.
`in` with a list on the left holds when any of its items is in the right-hand list.

Each node compiles to a small function of the binding. The shapes the rule files use most (the truth
of a two-step fact such as `age.known`, a fact against a literal, two facts ordered, two or three
conditions joined) get closures of their own that read the fact inline, so evaluating a rule's
condition costs a few calls, not a walk over the JSON.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from typing import Any

from plugin.cds_hooks.contract import Binding, Condition
from plugin.cds_hooks.errors import RuleError

__all__ = ["RuleError", "compile_condition", "fact_getter", "check_fact", "lookup", "always"]

Getter = Callable[[Binding], Any]
_EMPTY = (None, "", [], {})
_NUMBER = (int, float)


def always(_binding: Binding) -> bool:
    return True


def lookup(binding: Binding, path: str) -> Any:
    """The fact at a dotted path, or None where any step is missing or not an object."""
    return _lookup_parts(binding, tuple(path.split(".")))


def _lookup_parts(binding: Binding, parts: tuple[str, ...]) -> Any:
    value: Any = binding
    for part in parts:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def check_fact(path: Any, fields: Iterable[str], where: str) -> str:
    if not isinstance(path, str) or path not in fields:
        known = ", ".join(sorted(fields))
        raise RuleError(f"{where}: unknown fact {path!r} (this rule's facts: {known})")
    return path


def fact_getter(path: str) -> Getter:
    """A function reading one fact from a binding (one- and two-step paths read inline)."""
    parts = path.split(".")
    if len(parts) == 1:
        key = parts[0]
        return lambda b: b.get(key)
    if len(parts) == 2:
        head, tail = parts

        def two(b: Binding) -> Any:
            value = b.get(head)
            return value.get(tail) if isinstance(value, dict) else None

        return two
    steps = tuple(parts)
    return lambda b: _lookup_parts(b, steps)


def _operand(expr: Any, fields: Iterable[str], where: str) -> tuple[Getter | None, Any]:
    """(getter, None) for a fact, (None, value) for a literal."""
    if isinstance(expr, dict):
        if set(expr) != {"fact"}:
            raise RuleError(f"{where}: an operand is a literal or {{'fact': name}}, got {expr!r}")
        return fact_getter(check_fact(expr["fact"], fields, where)), None
    return None, list(expr) if isinstance(expr, list) else expr


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        # Two numbers (not bools: their class is bool) compare directly, the usual case.
        if a.__class__ in _NUMBER and b.__class__ in _NUMBER:
            return op(a, b)
        if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
            return False
        try:
            return bool(op(a, b))
        except TypeError:
            return False

    return compare


def _contains(collection: Any, item: Any) -> bool:
    if isinstance(item, list):
        return isinstance(collection, list) and any(i in collection for i in item)
    return isinstance(collection, list) and item in collection


_ORDERED: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}
_BINARY: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": _ordered(operator.lt),
    "le": _ordered(operator.le),
    "gt": _ordered(operator.gt),
    "ge": _ordered(operator.ge),
    "in": lambda a, b: _contains(b, a),
}


def _binary(
    compare: Callable[[Any, Any], bool], left: tuple[Getter | None, Any], right: tuple[Getter | None, Any]
) -> Condition:
    (get_a, a), (get_b, b) = left, right
    if get_a is not None and get_b is not None:
        return lambda x: compare(get_a(x), get_b(x))
    if get_a is not None:
        return lambda x: compare(get_a(x), b)
    if get_b is not None:
        return lambda x: compare(a, get_b(x))
    result = bool(compare(a, b))
    return lambda _x: result


def _join(op: str, parts: list[Condition]) -> Condition:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        if op == "all":
            return lambda b: first(b) and second(b)
        return lambda b: first(b) or second(b)
    if len(parts) == 3:
        first, second, third = parts
        if op == "all":
            return lambda b: first(b) and second(b) and third(b)
        return lambda b: first(b) or second(b) or third(b)
    items = tuple(parts)
    if op == "all":

        def every(b: Binding) -> bool:
            for part in items:  # noqa: SIM110 - a loop is cheaper than all() over a generator
                if not part(b):
                    return False
            return True

        return every

    def some(b: Binding) -> bool:
        for part in items:  # noqa: SIM110 - a loop is cheaper than any() over a generator
            if part(b):
                return True
        return False

    return some


def _two_steps(path: str) -> tuple[str, str] | None:
    parts = path.split(".")
    return (parts[0], parts[1]) if len(parts) == 2 else None


def _truth(path: str) -> Condition:
    """{"fact": path}: the fact is truthy."""
    steps = _two_steps(path)
    if steps is None:
        get = fact_getter(path)
        return lambda b: bool(get(b))
    head, tail = steps

    def truth(b: Binding) -> bool:
        value = b.get(head)
        return bool(value.get(tail)) if isinstance(value, dict) else False

    return truth


def _two_step_comparison(op: str, arg: list[Any]) -> Condition | None:
    """eq/ne of a two-step fact and a literal, or an ordering of two two-step facts, read inline."""
    left, right = arg
    if not isinstance(left, dict) or (steps := _two_steps(left["fact"])) is None:
        return None
    head, tail = steps
    if op in ("eq", "ne") and not isinstance(right, dict | list):
        equal = op == "eq"

        def compare_literal(b: Binding) -> bool:
            value = b.get(head)
            value = value.get(tail) if isinstance(value, dict) else None
            return (value == right) is equal

        return compare_literal
    if op in _ORDERED and isinstance(right, dict) and (other := _two_steps(right["fact"])) is not None:
        compare, fast = _BINARY[op], _ORDERED[op]
        head2, tail2 = other

        def ordered_facts(b: Binding) -> bool:
            a = b.get(head)
            a = a.get(tail) if isinstance(a, dict) else None
            c = b.get(head2)
            c = c.get(tail2) if isinstance(c, dict) else None
            if a.__class__ in _NUMBER and c.__class__ in _NUMBER:
                return fast(a, c)
            return compare(a, c)

        return ordered_facts
    return None


def compile_condition(expr: Any, fields: Iterable[str], where: str) -> Condition:
    """Compile a condition to a function of the binding; raises RuleError on anything unknown."""
    if expr is None or expr is True:
        return always
    if not isinstance(expr, dict) or len(expr) != 1:
        raise RuleError(f"{where}: a condition is an object with exactly one operator, got {expr!r}")
    ((op, arg),) = expr.items()
    if op in ("all", "any"):
        if not isinstance(arg, list) or not arg:
            raise RuleError(f"{where}: {op!r} takes a non-empty list of conditions")
        return _join(op, [compile_condition(a, fields, f"{where}.{op}[{i}]") for i, a in enumerate(arg)])
    if op == "not":
        if isinstance(arg, dict) and set(arg) == {"fact"}:
            truth = _truth(check_fact(arg["fact"], fields, f"{where}.not"))
            return lambda b: not truth(b)
        inner = compile_condition(arg, fields, f"{where}.not")
        return lambda b: not inner(b)
    if op == "fact":
        return _truth(check_fact(arg, fields, where))
    if op == "exists":
        get, value = _operand(arg, fields, where)
        if get is None:
            present = value not in _EMPTY
            return lambda _b: present
        return lambda b: get(b) not in _EMPTY
    if op in _BINARY:
        if not isinstance(arg, list) or len(arg) != 2:
            raise RuleError(f"{where}: {op!r} takes exactly two operands")
        left, right = (_operand(a, fields, where) for a in arg)
        special = _two_step_comparison(op, arg)
        return special or _binary(_BINARY[op], left, right)
    raise RuleError(f"{where}: unknown operator {op!r}")
