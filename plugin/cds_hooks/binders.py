"""Binders: how a rule's `match.kind` turns the request's facts into bindings its condition tests.

Each binder declares the fact names it provides (checked against conditions and templates at load)
and returns one binding per thing a card could be about: an order, a pair of orders, a code's units,
the request's payer, a prefetch key that could not be had. The arithmetic lives here; what counts as
a problem, and what the card says, lives in the rule data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from plugin.cds_hooks.conditions import Binding, fields_of
from plugin.cds_hooks.content import NO_COUNTERPART, AgeBands, Documentation
from plugin.cds_hooks.facts import Facts, Order, is_emergent
from plugin.cds_hooks.fhir import as_dict, as_list, as_str, codings, contained
from plugin.cds_hooks.tables import Tables
from plugin.dates import age_bounds, age_text

ORDER_FIELDS = ["ref", "code", "display", "label", "type", "date", "date_source", "quantity", "priority"]
REQUEST_FIELDS = ["hook", "date", "several_orders"]


@dataclass
class Context:
    """What binders read besides the facts: the fact tables and the terminology content."""

    tables: Tables
    bands: AgeBands
    documentation: Documentation


@dataclass
class Binder:
    kind: str
    fields: set[str]
    bind: Callable[[Facts, Context, Any], list[Binding]]
    # The `match` parameters `bind` reads: rules with the same trigger and equal values of these bind
    # alike, so a request binds once for all of them.
    params: tuple[str, ...] = ()
    # Work done once per rule when it loads: (match parameters, context, where) -> rule.prepared.
    prepare: Callable[[dict[str, Any], Context, str], Any] | None = None


def order_view(order: Order) -> dict[str, Any]:
    """The order's facts as a rule reads them; built once per order (bindings only read it)."""
    if order.view is None:
        order.view = _order_view(order)
    return order.view


def _order_view(order: Order) -> dict[str, Any]:
    return {
        "ref": order.ref,
        "code": order.code,
        "display": order.display,
        "label": order.label,
        "type": order.resource_type,
        "date": order.service_date.text,
        "date_source": order.service_date_source,
        "quantity": order.quantity,
        "priority": order.priority,
    }


def _request_view(facts: Facts) -> dict[str, Any]:
    view = facts.memo.get("request")
    if view is None:
        view = facts.memo["request"] = {
            "hook": facts.hook,
            "date": facts.request_date.isoformat(),
            "several_orders": len(facts.orders) > 1,
        }
    return view


def _base(facts: Facts, **orders: Order) -> Binding:
    binding: Binding = {"request": facts.memo.get("request") or _request_view(facts), "_orders": orders}
    for key, order in orders.items():
        binding[key] = order.view or order_view(order)
    return binding


def _order_base(facts: Facts, order: Order) -> Binding:
    """_base(facts, order=order), the binding most binders start from, without the keyword packing."""
    return {
        "request": facts.memo.get("request") or _request_view(facts),
        "_orders": {"order": order},
        "order": order.view or order_view(order),
    }


# --- order-age -------------------------------------------------------------------------------------


def bind_order_age(facts: Facts, ctx: Context, rule: Any) -> list[Binding]:
    found: list[Binding] = []
    bands = ctx.bands
    birth = facts.birth_date
    for order in facts.in_scope:
        split = bands.split.get(order.code)  # only codes with an age criterion
        if split is None or not rule.triggered(order.code):
            continue
        binding = _order_base(facts, order)
        binding["code"] = split.view
        binding["counterpart"] = NO_COUNTERPART
        ages = age_bounds(birth, order.service_date) if birth else None
        issue = facts.birth_date_issue
        if birth and ages is None:
            issue = f"the birth date {birth.text} is after the date of service {order.service_date.text}"
        low, high = ages or (None, None)
        binding["age"] = {
            "known": ages is not None,
            "low": low,
            "high": high,
            "text": age_text(low, high) if ages else None,
            "issue": issue,
            "birth_date": birth.text if birth else None,
            "precise": bool(birth and birth.precise and order.service_date.precise),
        }
        if ages is not None:
            for target, view in split.counterparts:
                if bands.fits(target, low, high) == "fits":
                    binding["counterpart"] = view
                    break
        found.append(binding)
    return found


# --- order-setting ---------------------------------------------------------------------------------


def _encounter_pos(facts: Facts, pos_systems: list[str]) -> list[str]:
    encounter = as_dict(facts.encounter)
    found = []
    for item in as_list(encounter.get("location")):
        location = contained(encounter, as_dict(item).get("location"))
        for concept in as_list((location or {}).get("type")):
            found += [
                c["code"]
                for c in codings(concept)
                if c.get("system") in pos_systems and as_str(c.get("code"))
            ]
    return found


@dataclass(frozen=True)
class SettingTable:
    """The place-of-service facts table as the setting binder reads it."""

    facility: dict[str, str]
    other_facility: frozenset[str]
    non_facility: dict[str, str]
    classes: dict[str, str]
    pos_systems: list[str]


def prepare_setting(params: dict[str, Any], ctx: Context, where: str) -> SettingTable:
    pos_table = ctx.tables.files.get("place-of-service", {})
    return SettingTable(
        facility=pos_table.get("facility", {}),
        other_facility=frozenset(pos_table.get("facilityOtherPayers", {}).get("codes", [])),
        non_facility=pos_table.get("nonFacility", {}),
        classes=pos_table.get("encounterClasses", {}),
        pos_systems=pos_table.get("posSystems", []),
    )


def bind_order_setting(facts: Facts, ctx: Context, rule: Any) -> list[Binding]:
    found: list[Binding] = []
    table: SettingTable = rule.prepared
    encounter_pos = _encounter_pos(facts, table.pos_systems)
    encounter_class = as_str(as_dict(as_dict(facts.encounter).get("class")).get("code"))
    for order in facts.in_scope:
        if not rule.triggered(order.code):
            continue
        if order.pos or encounter_pos:
            where, pos = (
                ("ServiceRequest.locationCode", order.pos[0])
                if order.pos
                else (
                    "Encounter.location",
                    encounter_pos[0],
                )
            )
            kind = "facility" if pos in table.facility or pos in table.other_facility else "non-facility"
            name = table.facility.get(pos) or table.non_facility.get(pos)
            place = f"POS {pos}" + (f" ({name})" if name else "")
            setting = {"kind": kind, "pos": pos, "name": name, "where": f"{place} on {where}"}
        elif encounter_class:
            setting = {
                "kind": table.classes.get(encounter_class, "unknown"),
                "pos": None,
                "name": None,
                "where": f"encounter class {encounter_class}",
            }
        else:
            setting = {"kind": "unknown", "pos": None, "name": None, "where": None}
        setting["class"] = encounter_class
        binding = _order_base(facts, order)
        binding["setting"] = setting
        found.append(binding)
    return found


BINDERS: dict[str, Binder] = {
    "order-age": Binder(
        "order-age",
        fields_of(
            [
                ("order", ORDER_FIELDS),
                ("request", REQUEST_FIELDS),
                ("age", ["known", "low", "high", "text", "issue", "birth_date", "precise"]),
                ("code", ["age_min", "age_max", "band", "display"]),
                ("counterpart", ["exists", "code", "display", "band"]),
            ]
        ),
        bind_order_age,
    ),
    "order-setting": Binder(
        "order-setting",
        fields_of(
            [
                ("order", ORDER_FIELDS),
                ("request", REQUEST_FIELDS),
                ("setting", ["kind", "pos", "name", "where", "class"]),
            ]
        ),
        bind_order_setting,
        prepare=prepare_setting,
    ),
}


def emergent_text(facts: Facts, order: Order | None = None) -> str:
    value = is_emergent(facts, order)
    return {True: "emergent", False: "planned", None: "urgency not stated"}[value]
