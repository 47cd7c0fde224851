"""What every binder shares: the fact names of an order and of the request, and the bindings' views.

An order's view is built once per order and shared by every binding about it (bindings only read it);
the request's view once per request (facts.memo).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from plugin.cds_hooks.contract import Binding
from plugin.cds_hooks.facts import Facts, Order, is_emergent
from plugin.cds_hooks.fhir import as_dict, as_list, as_str

ORDER_FIELDS = [
    "ref",
    "code",
    "display",
    "label",
    "type",
    "date",
    "date_source",
    "quantity",
    "priority",
    "performer",
]
REQUEST_FIELDS = ["hook", "date", "several_orders"]


def fields_of(prefixes: Iterable[tuple[str, Iterable[str]]]) -> frozenset[str]:
    """Fact names from (prefix, [field, ...]) pairs, plus each prefix itself."""
    names: set[str] = set()
    for prefix, keys in prefixes:
        names.add(prefix)
        names.update(f"{prefix}.{k}" for k in keys)
    return frozenset(names)


def _performer(resource: dict[str, Any]) -> str | None:
    """Who is to perform the order: ServiceRequest.performer, or an Appointment's practitioner."""
    performers, participants = resource.get("performer"), resource.get("participant")
    if performers is None and participants is None:
        return None  # the usual draft order: read nothing more
    for item in as_list(performers):
        reference = as_str(as_dict(item).get("reference"))
        if reference:
            return reference
    for participant in as_list(participants):
        reference = as_str(as_dict(as_dict(participant).get("actor")).get("reference"))
        if reference and reference.startswith("Practitioner"):
            return reference
    return None


def order_view(order: Order) -> dict[str, Any]:
    """The order's facts as a rule reads them; built once per order (bindings only read it)."""
    if order.view is None:
        order.view = {
            "ref": order.ref,
            "code": order.code,
            "display": order.display,
            "label": order.label,
            "type": order.resource_type,
            "date": order.service_date.text,
            "date_source": order.service_date_source,
            "quantity": order.quantity,
            "priority": order.priority,
            "performer": _performer(order.resource),
        }
    return order.view


def request_view(facts: Facts) -> dict[str, Any]:
    view = facts.memo.get("request")
    if view is None:
        view = facts.memo["request"] = {
            "hook": facts.hook,
            "date": facts.request_date.isoformat(),
            "several_orders": len(facts.orders) > 1,
        }
    return view


def base_binding(facts: Facts, **orders: Order) -> Binding:
    """A binding with the request's facts and each named order's (under its name, and in `_orders`)."""
    binding: Binding = {"request": facts.memo.get("request") or request_view(facts), "_orders": orders}
    for key, order in orders.items():
        binding[key] = order.view or order_view(order)
    return binding


def order_binding(facts: Facts, order: Order) -> Binding:
    """base_binding(facts, order=order), the binding most binders start from, without keyword packing."""
    return {
        "request": facts.memo.get("request") or request_view(facts),
        "_orders": {"order": order},
        "order": order.view or order_view(order),
    }


def emergent_text(facts: Facts, order: Order | None = None) -> str:
    value = is_emergent(facts, order)
    return {True: "emergent", False: "planned", None: "urgency not stated"}[value]
