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


def _check_fact(path: Any, fields: set[str], where: str) -> str:
    if not isinstance(path, str) or path not in fields:
        known = ", ".join(sorted(fields))
        raise RuleError(f"{where}: unknown fact {path!r} (this rule's facts: {known})")
    return path


# Conditions and templates are compiled to Python source once, at load, so evaluating one is a single
# function call with inline dictionary reads rather than a tree of closures. Only fact names (checked
# against the binder's fields, or matched by _PLACEHOLDER) appear in the source, as string literals;
# every literal of the rule file is passed in as a named constant, never written into the source.


def _constant(env: dict[str, Any], value: Any) -> str:
    name = f"_c{len(env)}"
    env[name] = value
    return name


def _fact_source(path: str, env: dict[str, Any]) -> str:
    parts = path.split(".")
    if len(parts) == 1:
        return f"b.get({parts[0]!r})"
    if len(parts) == 2:
        return f"(_v.get({parts[1]!r}) if isinstance(_v := b.get({parts[0]!r}), dict) else None)"
    return f"_lookup_parts(b, {_constant(env, tuple(parts))})"


def _operand_source(expr: Any, fields: set[str], where: str, env: dict[str, Any]) -> str:
    if isinstance(expr, dict):
        if set(expr) != {"fact"}:
            raise RuleError(f"{where}: an operand is a literal or {{'fact': name}}, got {expr!r}")
        return _fact_source(_check_fact(expr["fact"], fields, where), env)
    return _constant(env, list(expr) if isinstance(expr, list) else expr)


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
            return False
        try:
            return op(a, b)
        except TypeError:
            return False

    return compare


_ORDERED: dict[str, Callable[[Any, Any], bool]] = {
    "lt": _ordered(lambda a, b: a < b),
    "le": _ordered(lambda a, b: a <= b),
    "gt": _ordered(lambda a, b: a > b),
    "ge": _ordered(lambda a, b: a >= b),
}
_EQUALITY = {"eq": "==", "ne": "!="}
_SYMBOL = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_EMPTY = (None, "", [], {})


def _condition_source(expr: Any, fields: set[str], where: str, env: dict[str, Any]) -> str:
    """A Python boolean expression of `b` for the condition; raises RuleError on anything unknown."""
    if expr is None or expr is True:
        return "True"
    if not isinstance(expr, dict) or len(expr) != 1:
        raise RuleError(f"{where}: a condition is an object with exactly one operator, got {expr!r}")
    ((op, arg),) = expr.items()
    if op in ("all", "any"):
        if not isinstance(arg, list) or not arg:
            raise RuleError(f"{where}: {op!r} takes a non-empty list of conditions")
        parts = [_condition_source(a, fields, f"{where}.{op}[{i}]", env) for i, a in enumerate(arg)]
        return "(" + (" and " if op == "all" else " or ").join(parts) + ")"
    if op == "not":
        return f"(not {_condition_source(arg, fields, f'{where}.not', env)})"
    if op == "fact":
        return f"bool({_fact_source(_check_fact(arg, fields, where), env)})"
    if op == "exists":
        return f"({_operand_source(arg, fields, where, env)} not in _EMPTY)"
    if op in _ORDERED or op in _EQUALITY or op == "in":
        if not isinstance(arg, list) or len(arg) != 2:
            raise RuleError(f"{where}: {op!r} takes exactly two operands")
        left, right = (_operand_source(a, fields, where, env) for a in arg)
        if op == "in":
            return f"_contains({right}, {left})"
        if op in _EQUALITY:
            return f"({left} {_EQUALITY[op]} {right})"
        # Two numbers (not bools) compare directly; anything else goes through the null-safe compare.
        fallback = f"{_constant(env, _ORDERED[op])}({left}, {right})"
        numbers = f"(_l := {left}).__class__ in _NUMBER and (_r := {right}).__class__ in _NUMBER"
        return f"(_l {_SYMBOL[op]} _r if {numbers} else {fallback})"
    raise RuleError(f"{where}: unknown operator {op!r}")


def _function(body: str, env: dict[str, Any]) -> Callable[[Binding], Any]:
    namespace: dict[str, Any] = {
        **env,
        "_EMPTY": _EMPTY,
        "_NUMBER": (int, float),
        "_contains": _contains,
        "_lookup_parts": _lookup_parts,
        "_format": format_value,
    }
    exec(f"def _compiled(b):\n    return {body}\n", namespace)  # noqa: S102 - source built above
    return namespace["_compiled"]


def compile_condition(expr: Any, fields: set[str], where: str) -> Condition:
    """Compile a condition to a function of the binding; raises RuleError on anything unknown."""
    env: dict[str, Any] = {}
    return _function(_condition_source(expr, fields, where, env), env)


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


Template = Callable[[Binding], str]


def compile_template(text: str) -> Template:
    """Card text as a function of the binding: its literal pieces joined with the formatted facts."""
    terms: list[str] = []
    env: dict[str, Any] = {}
    last = 0
    for match in _PLACEHOLDER.finditer(text):
        if match.start() > last:
            terms.append(_constant(env, text[last : match.start()]))
        value = _fact_source(match.group(1), env)
        # format_value is the text itself for a str and str() for an int: skip the call for those.
        terms.append(
            f"(_s if (_s := {value}).__class__ is str else str(_s) if _s.__class__ is int else _format(_s))"
        )
        last = match.end()
    if not terms:
        return lambda _b: text
    if last < len(text):
        terms.append(_constant(env, text[last:]))
    return _function('f"' + "".join("{" + t + "}" for t in terms) + '"', env)


_compiled_templates = functools.lru_cache(maxsize=4096)(compile_template)


def render(text: str, binding: Binding) -> str:
    """Render a template text (compiled once per distinct text; rule texts are a small fixed set)."""
    return _compiled_templates(text)(binding)


def fields_of(prefixes: Iterable[tuple[str, Iterable[str]]]) -> set[str]:
    """Fact names from (prefix, [field, ...]) pairs, plus each prefix itself."""
    names: set[str] = set()
    for prefix, keys in prefixes:
        names.add(prefix)
        names.update(f"{prefix}.{k}" for k in keys)
    return names
