"""`inferSystem`: which code system of a value set a bare code belongs to ($validate-code given a
code without a system). The includes are searched; imports and system-less includes need the
value set's codes, collected as for an expansion but never rendered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plugin.terminology import messages
from plugin.terminology.errors import TxError
from plugin.terminology.expand.expansion import codes
from plugin.terminology.model.codesystem import CodeSystemView
from plugin.terminology.model.context import TxContext
from plugin.terminology.validate.findings import Findings

# The compiled filters of an include for a code system (ValueSetChecker.compiled_filters).
FiltersFor = Callable[[CodeSystemView, dict[str, Any]], list[Any]]


def infer_system(
    ctx: TxContext,
    value_set: dict[str, Any],
    label: str,
    filters_for: FiltersFor,
    code: str,
    found: Findings,
) -> str | None:
    """The one system of `value_set` that holds `code`, or None with the reason in `found`."""
    systems: list[str] = []
    compose = value_set.get("compose") if isinstance(value_set.get("compose"), dict) else {}
    for item in compose.get("include") or []:
        if not isinstance(item, dict):
            continue
        if item.get("valueSet") or not item.get("system"):
            systems = _systems_by_expansion(ctx, value_set, code)
            break
        view = ctx.code_system(item["system"], item.get("version"))
        if view is None:
            continue
        if item.get("concept"):
            hit = any(isinstance(c, dict) and c.get("code") == code for c in item["concept"])
        else:
            concept = view.locate(code)
            filters = filters_for(view, item)
            hit = concept is not None and all(f.matches(concept) for f in filters)
        if hit and item["system"] not in systems:
            systems.append(item["system"])
    if len(systems) == 1:
        return systems[0]
    if len(systems) > 1:
        text = messages.render(
            "Unable_to_resolve_system__value_set_has_multiple_matches",
            code,
            label,
            "[" + ", ".join(sorted(systems)) + "]",
        )
        found.add(
            "error",
            "not-found",
            "code",
            "Unable_to_resolve_system__value_set_has_multiple_matches",
            text,
            "cannot-infer",
            message=True,
        )
    else:
        found.add(
            "error",
            "not-found",
            "code",
            "UNABLE_TO_INFER_CODESYSTEM",
            messages.render("UNABLE_TO_INFER_CODESYSTEM", code, label),
            "cannot-infer",
            message=True,
        )
    return None


def _systems_by_expansion(ctx: TxContext, value_set: dict[str, Any], code: str) -> list[str]:
    try:
        members = codes(ctx, value_set)
    except TxError:
        return []
    out: list[str] = []
    for system, member in members:
        if member == code and system not in out:
            out.append(system)
    return out
