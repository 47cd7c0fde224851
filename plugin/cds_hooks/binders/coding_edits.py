"""Binders for NCCI edits among the draft orders: procedure-to-procedure pairs (ptp), add-on codes
without their primary (add-on), units over the medically unlikely edit (mue). The edit rows come
from the NCCI facts tables; the binders only pair orders with them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugin.cds_hooks.binders.common import (
    ORDER_FIELDS,
    REQUEST_FIELDS,
    base_binding,
    fields_of,
    order_binding,
)
from plugin.cds_hooks.contract import Binder, Binding, Context, Rule
from plugin.cds_hooks.facts import Facts, Order


def or_list(items: list[str]) -> str:
    """Alternatives as a sentence reads them: "59, XE, XS, XP or XU"."""
    items = [str(i) for i in items]
    if len(items) < 2:
        return items[0] if items else "none"
    return ", ".join(items[:-1]) + " or " + items[-1]


def prepare_ptp(params: Mapping[str, Any], ctx: Context, where: str) -> dict[str, str]:
    """What each PTP modifier indicator means."""
    return ctx.tables.files.get("ncci-ptp-practitioner", {}).get("modifierIndicators", {})


def prepare_mue(params: Mapping[str, Any], ctx: Context, where: str) -> dict[str, str]:
    """What each MUE adjudication indicator (MAI) means."""
    return ctx.tables.files.get("ncci-mue", {}).get("mai", {})


def bind_ptp(facts: Facts, ctx: Context, rule: Rule) -> list[Binding]:
    found: list[Binding] = []
    meanings: dict[str, str] = rule.prepared
    for first in facts.orders:
        for second in facts.orders:
            if first is second or not (first.selected or second.selected):
                continue
            if not (rule.triggered(first.code) or rule.triggered(second.code)):
                continue
            row = ctx.tables.ptp_edit(first.code, second.code)
            if row is None:
                continue
            indicator = row["modifierIndicator"]
            bypass = row.get("bypassModifiers", []) if indicator == "1" else []
            binding = base_binding(facts, column1=first, column2=second)
            binding["edit"] = {
                "column1": first.code,
                "column2": second.code,
                "modifier_indicator": indicator,
                "meaning": meanings.get(indicator),
                "rationale": row.get("rationale"),
                "bypass": bypass,
                "bypass_text": or_list(bypass),
                "note": row.get("note"),
            }
            found.append(binding)
    return found


def bind_add_on(facts: Facts, ctx: Context, rule: Rule) -> list[Binding]:
    found: list[Binding] = []
    for order in facts.in_scope:
        row = ctx.tables.add_ons.get(order.code)
        if row is None or not rule.triggered(order.code):
            continue
        others = sorted({o.code for o in facts.orders if o is not order})
        binding = order_binding(facts, order)
        binding["addon"] = {
            "code": order.code,
            "primaries": row["primaries"],
            "primaries_text": or_list(row["primaries"]),
            "has_primary": any(code in row["primaries"] for code in others),
            "others": others,
            "note": row.get("note"),
        }
        found.append(binding)
    return found


def bind_mue(facts: Facts, ctx: Context, rule: Rule) -> list[Binding]:
    found: list[Binding] = []
    meanings: dict[str, str] = rule.prepared
    by_code: dict[str, list[Order]] = {}
    for order in facts.orders:
        by_code.setdefault(order.code, []).append(order)
    mue = ctx.tables.mue
    for code, orders in by_code.items():
        row = mue.get(code)
        if row is None or not rule.triggered(code):
            continue
        for order in orders:
            if order.selected:
                break
        else:
            continue  # no order of the code is in scope
        binding = order_binding(facts, orders[0])
        if len(orders) > 1:
            # Every order of the code adds to the units, so the card concerns all of them.
            binding["_orders"].update({f"order{i}": o for i, o in enumerate(orders[1:], start=1)})
        binding["mue"] = {
            "code": code,
            "limit": row["mue"],
            "mai": row["mai"],
            "mai_meaning": meanings.get(row["mai"]),
            "units": sum(o.quantity for o in orders) if len(orders) > 1 else orders[0].quantity,
            "orders": [o.label for o in orders],
            "refs": [o.ref or "no id" for o in orders],
            "order_count": len(orders),
        }
        found.append(binding)
    return found


PTP = Binder(
    "ptp",
    fields_of(
        [
            ("column1", ORDER_FIELDS),
            ("column2", ORDER_FIELDS),
            ("request", REQUEST_FIELDS),
            (
                "edit",
                [
                    "column1",
                    "column2",
                    "modifier_indicator",
                    "meaning",
                    "rationale",
                    "bypass",
                    "bypass_text",
                    "note",
                ],
            ),
        ]
    ),
    bind_ptp,
    prepare=prepare_ptp,
)
ADD_ON = Binder(
    "add-on",
    fields_of(
        [
            ("order", ORDER_FIELDS),
            ("request", REQUEST_FIELDS),
            ("addon", ["code", "primaries", "primaries_text", "has_primary", "others", "note"]),
        ]
    ),
    bind_add_on,
)
MUE = Binder(
    "mue",
    fields_of(
        [
            ("order", ORDER_FIELDS),
            ("request", REQUEST_FIELDS),
            ("mue", ["code", "limit", "mai", "mai_meaning", "units", "orders", "refs", "order_count"]),
        ]
    ),
    bind_mue,
    prepare=prepare_mue,
)
