"""Payer binders: `coverage` (one binding per request: the payer on file, what is known of its policy,
prior-authorization advice, the Medicare PFS indicator table of the family codes ordered) and
`coverage-information` (one per family order, for the CRD coverage-information system action)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plugin.cds_hooks.binders.common import (
    ORDER_FIELDS,
    REQUEST_FIELDS,
    base_binding,
    emergent_text,
    fields_of,
    order_binding,
)
from plugin.cds_hooks.contract import Binder, Binding, Context, Rule
from plugin.cds_hooks.facts import Facts
from plugin.cds_hooks.tables import dated_label
from plugin.dates import age_bounds, age_text

PAYER_FIELDS = ["known", "kind", "name", "matched", "coverage_ref", "finding", "confidence", "sources"]
INDICATOR_COLUMNS = [
    ("global", "Global period"),
    ("coSurgeon", "Co-surgeon (62)"),
    ("team", "Team (66)"),
    ("assistant", "Assistant (80/81/82/AS)"),
]


@dataclass(frozen=True)
class PayerTable:
    """The payer-classification facts as the payer binders read them, built once at load."""

    # Payer kind -> what is known of its policy: finding, confidence, dated source labels.
    policies: dict[str, tuple[Any, Any, list[str]]]
    pa_label: Any
    advice: dict[str, str]  # urgency text -> the prior-authorization advice for it
    indicator_rows: dict[str, str]  # code -> its line of the Medicare indicator table
    pfs_views: dict[str, dict[str, Any]]  # code -> its `pfs` facts (bindings only read them)


_NO_POLICY: tuple[Any, Any, list[str]] = (None, None, [])


def prepare_payer(params: Mapping[str, Any], ctx: Context, where: str) -> PayerTable:
    payers = ctx.tables.files.get("payer-classification", {})
    policies = {
        kind: (
            policy.get("finding"),
            policy.get("confidence"),
            [dated_label(source) for source in policy.get("sources", [])],
        )
        for kind, policy in payers.get("policies", {}).items()
    }
    pa = payers.get("priorAuthorization", {})
    advice = {
        "emergent": [pa.get("emergent")],
        "planned": [pa.get("planned")],
        "urgency not stated": [pa.get("emergent"), pa.get("planned")],
    }
    pfs_codes = ctx.tables.files.get("medicare-pfs-indicators", {}).get("codes", {})
    return PayerTable(
        policies,
        pa.get("label"),
        {k: " ".join(a for a in v if a) for k, v in advice.items()},
        {code: _indicator_row(code, ctx) for code in pfs_codes},
        {code: _pfs_view(code, ctx) for code in pfs_codes},
    )


def _payer_view(facts: Facts, table: PayerTable) -> dict[str, Any]:
    view = facts.memo.get("payer")
    if view is None:
        payer = facts.payer
        finding, confidence, sources = (
            table.policies.get(payer.kind, _NO_POLICY) if payer and payer.kind else _NO_POLICY
        )
        view = facts.memo["payer"] = {
            "known": bool(payer and payer.kind),
            "kind": payer.kind if payer else None,
            "name": payer.name if payer else None,
            "matched": payer.matched if payer else None,
            "coverage_ref": payer.coverage_ref if payer else None,
            "finding": finding,
            "confidence": confidence,
            "sources": sources,
        }
    return view


INDICATOR_HEADER = (
    "| Code | "
    + " | ".join(title for _, title in INDICATOR_COLUMNS)
    + " |\n"
    + "|---" * (len(INDICATOR_COLUMNS) + 1)
    + "|"
)


def _indicator_table(codes: list[str], table: PayerTable, ctx: Context) -> str:
    """The Medicare indicator table for these codes (each snapshot code's line built at load)."""
    rows = table.indicator_rows
    return "\n".join([INDICATOR_HEADER, *(rows.get(code) or _indicator_row(code, ctx) for code in codes)])


def _indicator_row(code: str, ctx: Context) -> str:
    pfs = ctx.tables.files.get("medicare-pfs-indicators", {})
    meanings, rows = pfs.get("meanings", {}), pfs.get("codes", {})
    row = rows.get(code, {})
    cells = []
    for key, _title in INDICATOR_COLUMNS:
        value = row.get(key)
        cells.append(
            f"{value}: {meanings.get(key, {}).get(value, '')}".rstrip(": ") if value else "not in snapshot"
        )
    return f"| {code} | " + " | ".join(cells) + " |"


def _patient_age(facts: Facts, orders: list[Any]) -> dict[str, Any]:
    """Every age the patient can have on the dates of service of these orders (payer policies differ by
    age: BCBSA 8.01.60 is for adults); unknown without a usable birth date."""
    birth = facts.birth_date
    bounds = [b for b in (age_bounds(birth, o.service_date) for o in orders) if b] if birth else []
    if not bounds:
        return {"known": False, "low": None, "high": None, "text": None}
    low, high = min(b[0] for b in bounds), max(b[1] for b in bounds)
    return {"known": True, "low": low, "high": high, "text": age_text(low, high)}


def bind_coverage(facts: Facts, ctx: Context, rule: Rule) -> list[Binding]:
    found: list[Binding] = []
    orders = [o for o in facts.family_in_scope if rule.triggered(o.code)]
    if not orders:
        return found
    table: PayerTable = rule.prepared
    codes = sorted({o.code for o in orders}) if len(orders) > 1 else [orders[0].code]
    urgency = emergent_text(facts)
    binding = base_binding(facts)
    binding["_orders"] = {f"order{i}": o for i, o in enumerate(orders)}
    binding["payer"] = _payer_view(facts, table)
    binding["orders"] = {"codes": codes, "labels": [o.label for o in orders]}
    binding["urgency"] = urgency
    binding["pa"] = {"label": table.pa_label, "advice": table.advice[urgency]}
    # The ordered codes whose PFS assistant-at-surgery indicator is 0 (paid only with documentation of
    # medical necessity): the assistant sentence names these and no others.
    pfs_codes = ctx.tables.files.get("medicare-pfs-indicators", {}).get("codes", {})
    documented = [c for c in codes if pfs_codes.get(c, {}).get("assistant") == "0"]
    binding["indicators"] = {
        "table": _indicator_table(codes, table, ctx),
        "assistant_documentation_text": ", ".join(documented) or None,
    }
    binding["age"] = _patient_age(facts, orders)
    found.append(binding)
    return found


_NOT_IN_SNAPSHOT: dict[str, Any] = {"in_snapshot": False, "assistant": None, "assistant_meaning": None}


def _pfs_view(code: str, ctx: Context) -> dict[str, Any]:
    """The code in the Medicare PFS snapshot: its assistant-at-surgery indicator and its meaning
    (absent when the code is not in the snapshot), so a reason sentence can hold per code. Built at
    load for every snapshot code (PayerTable.pfs_views)."""
    pfs = ctx.tables.files.get("medicare-pfs-indicators", {})
    row = pfs.get("codes", {}).get(code)
    if row is None:
        return _NOT_IN_SNAPSHOT
    assistant = row.get("assistant")
    meaning = pfs.get("meanings", {}).get("assistant", {}).get(assistant) if assistant else None
    return {"in_snapshot": True, "assistant": assistant, "assistant_meaning": meaning}


def bind_coverage_information(facts: Facts, ctx: Context, rule: Rule) -> list[Binding]:
    found: list[Binding] = []
    if facts.payer is None:
        return found
    for order in facts.family_in_scope:
        if not rule.triggered(order.code) or order.ref is None:
            continue
        binding = order_binding(facts, order)
        binding["payer"] = _payer_view(facts, rule.prepared)
        binding["urgency"] = emergent_text(facts, order)
        table: PayerTable = rule.prepared
        binding["pfs"] = table.pfs_views.get(order.code) or _NOT_IN_SNAPSHOT
        found.append(binding)
    return found


COVERAGE = Binder(
    "coverage",
    fields_of(
        [
            ("request", REQUEST_FIELDS),
            ("payer", PAYER_FIELDS),
            ("orders", ["codes", "labels"]),
            ("urgency", []),
            ("pa", ["label", "advice"]),
            ("indicators", ["table", "assistant_documentation_text"]),
            ("age", ["known", "low", "high", "text"]),
        ]
    ),
    bind_coverage,
    prepare=prepare_payer,
)
COVERAGE_INFORMATION = Binder(
    "coverage-information",
    fields_of(
        [
            ("order", ORDER_FIELDS),
            ("request", REQUEST_FIELDS),
            ("payer", PAYER_FIELDS),
            ("urgency", []),
            ("pfs", ["in_snapshot", "assistant", "assistant_meaning"]),
        ]
    ),
    bind_coverage_information,
    prepare=prepare_payer,
)
