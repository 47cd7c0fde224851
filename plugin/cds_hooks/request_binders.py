"""Binders that look at the request as a whole: the payer on file, coverage information, prefetch gaps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from plugin.cds_hooks.binders import (
    BINDERS,
    ORDER_FIELDS,
    REQUEST_FIELDS,
    Binder,
    Context,
    _base,
    emergent_text,
)
from plugin.cds_hooks.conditions import Binding, fields_of
from plugin.cds_hooks.facts import Facts
from plugin.cds_hooks.tables import dated_label

PAYER_FIELDS = ["known", "kind", "name", "matched", "coverage_ref", "finding", "confidence", "sources"]
INDICATOR_COLUMNS = [
    ("global", "Global period"),
    ("coSurgeon", "Co-surgeon (62)"),
    ("team", "Team (66)"),
    ("assistant", "Assistant (80/81/82/AS)"),
]


def _payer_view(facts: Facts, ctx: Context) -> dict[str, Any]:
    view = facts.memo.get("payer")
    if view is None:
        view = facts.memo["payer"] = _build_payer_view(facts, ctx)
    return view


def _build_payer_view(facts: Facts, ctx: Context) -> dict[str, Any]:
    payer = facts.payer
    policies = ctx.tables.files.get("payer-classification", {}).get("policies", {})
    policy = policies.get(payer.kind, {}) if payer and payer.kind else {}
    sources = [dated_label(s) for s in policy.get("sources", [])]
    return {
        "known": bool(payer and payer.kind),
        "kind": payer.kind if payer else None,
        "name": payer.name if payer else None,
        "matched": payer.matched if payer else None,
        "coverage_ref": payer.coverage_ref if payer else None,
        "finding": policy.get("finding"),
        "confidence": policy.get("confidence"),
        "sources": sources,
    }


def _indicator_table(codes: list[str], ctx: Context) -> str:
    """The Medicare indicator table for these codes; the facts tables never change after load, so a
    table once built is kept with them (a bounded number of code combinations)."""
    cache = ctx.tables.memo.setdefault("indicator-tables", {})
    key = tuple(codes)
    table = cache.get(key)
    if table is None:
        table = _build_indicator_table(codes, ctx)
        if len(cache) < 1024:
            cache[key] = table
    return table


def _build_indicator_table(codes: list[str], ctx: Context) -> str:
    pfs = ctx.tables.files.get("medicare-pfs-indicators", {})
    meanings, rows = pfs.get("meanings", {}), pfs.get("codes", {})
    header = "| Code | " + " | ".join(title for _, title in INDICATOR_COLUMNS) + " |"
    lines = [header, "|---" * (len(INDICATOR_COLUMNS) + 1) + "|"]
    for code in codes:
        row = rows.get(code, {})
        cells = []
        for key, _title in INDICATOR_COLUMNS:
            value = row.get(key)
            cells.append(
                f"{value}: {meanings.get(key, {}).get(value, '')}".rstrip(": ")
                if value
                else "not in snapshot"
            )
        lines.append(f"| {code} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bind_coverage(facts: Facts, ctx: Context, rule: Any) -> Iterator[Binding]:
    orders = [o for o in facts.family_in_scope if rule.triggered(o.code)]
    if not orders:
        return
    codes = sorted({o.code for o in orders})
    urgency = emergent_text(facts)
    pa = ctx.tables.files.get("payer-classification", {}).get("priorAuthorization", {})
    advice = {"emergent": [pa.get("emergent")], "planned": [pa.get("planned")]}.get(
        urgency, [pa.get("emergent"), pa.get("planned")]
    )
    binding = _base(facts)
    binding["_orders"] = {f"order{i}": o for i, o in enumerate(orders)}
    binding["payer"] = _payer_view(facts, ctx)
    binding["orders"] = {"codes": codes, "labels": [o.label for o in orders]}
    binding["urgency"] = urgency
    binding["pa"] = {"label": pa.get("label"), "advice": " ".join(a for a in advice if a)}
    binding["indicators"] = {"table": _indicator_table(codes, ctx)}
    yield binding


def bind_coverage_information(facts: Facts, ctx: Context, rule: Any) -> Iterator[Binding]:
    if facts.payer is None:
        return
    for order in facts.family_in_scope:
        if not rule.triggered(order.code) or order.ref is None:
            continue
        binding = _base(facts, order=order)
        binding["payer"] = _payer_view(facts, ctx)
        binding["urgency"] = emergent_text(facts, order)
        yield binding


def bind_prefetch_issue(facts: Facts, ctx: Context, rule: Any) -> Iterator[Binding]:
    affects = rule.params.get("affects", {})
    for key, reason in sorted(facts.prefetch_issues.items()):
        binding = _base(facts)
        binding["issue"] = {"key": key, "reason": reason, "affects": affects.get(key, "some advice")}
        yield binding


BINDERS.update(
    {
        "coverage": Binder(
            "coverage",
            fields_of(
                [
                    ("request", REQUEST_FIELDS),
                    ("payer", PAYER_FIELDS),
                    ("orders", ["codes", "labels"]),
                    ("urgency", []),
                    ("pa", ["label", "advice"]),
                    ("indicators", ["table"]),
                ]
            ),
            bind_coverage,
        ),
        "coverage-information": Binder(
            "coverage-information",
            fields_of(
                [
                    ("order", ORDER_FIELDS),
                    ("request", REQUEST_FIELDS),
                    ("payer", PAYER_FIELDS),
                    ("urgency", []),
                ]
            ),
            bind_coverage_information,
        ),
        "prefetch-issue": Binder(
            "prefetch-issue",
            fields_of([("request", REQUEST_FIELDS), ("issue", ["key", "reason", "affects"])]),
            bind_prefetch_issue,
            params=("affects",),
        ),
    }
)
