"""Binders: how a rule's `match.kind` turns the request's facts into bindings its condition tests.

Each binder declares the fact names it provides (checked against conditions and templates at load)
and yields one binding per thing a card could be about: an order, a pair of orders, a code's units,
the request's payer, a prefetch key that could not be had. The arithmetic lives here; what counts as
a problem, and what the card says, lives in the rule data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from plugin.cds_hooks.conditions import Binding, RuleError, fields_of
from plugin.cds_hooks.content import AgeBands, Documentation
from plugin.cds_hooks.dates import age_range
from plugin.cds_hooks.facts import Facts, Order, is_emergent
from plugin.cds_hooks.fhir import as_dict, as_list, as_str, codings, contained, text_of
from plugin.cds_hooks.tables import Tables

ORDER_FIELDS = ["ref", "code", "display", "label", "type", "date", "date_source", "quantity", "priority"]
QUESTIONNAIRE_ID = "ecmo-cannulation-note"
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
    bind: Callable[[Facts, Context, Any], Iterator[Binding]]


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
    binding: Binding = {"request": _request_view(facts), "_orders": orders}
    for key, order in orders.items():
        binding[key] = order_view(order)
    return binding


# --- order-age -------------------------------------------------------------------------------------


def bind_order_age(facts: Facts, ctx: Context, rule: Any) -> Iterator[Binding]:
    bands = ctx.bands
    for order in facts.in_scope:
        if not rule.triggered(order.code) or not bands.has_limit(order.code):
            continue
        age_min, age_max = bands.limits.get(order.code, (None, None))
        binding = _base(facts, order=order)
        binding["code"] = {
            "age_min": age_min,
            "age_max": age_max,
            "band": bands.band_text(order.code),
            "display": bands.displays.get(order.code),
        }
        binding["counterpart"] = {"exists": False, "code": None, "display": None, "band": None}
        birth = facts.birth_date
        ages = age_range(birth, order.service_date) if birth else None
        issue = facts.birth_date_issue
        if birth and ages is None:
            issue = f"the birth date {birth.text} is after the date of service {order.service_date.text}"
        binding["age"] = {
            "known": ages is not None,
            "low": ages.low if ages else None,
            "high": ages.high if ages else None,
            "text": ages.text if ages else None,
            "issue": issue,
            "birth_date": birth.text if birth else None,
            "precise": bool(birth and birth.precise and order.service_date.precise),
        }
        if ages is not None:
            for target, _band in bands.counterparts.get(order.code, []):
                if bands.fits(target, ages.low, ages.high) == "fits":
                    binding["counterpart"] = {
                        "exists": True,
                        "code": target,
                        "display": bands.displays.get(target),
                        "band": bands.band_text(target),
                    }
                    break
        yield binding


# --- order-documentation ---------------------------------------------------------------------------


def _order_text(order: Order) -> str:
    resource = order.resource
    parts = [text_of(resource.get("code"))]
    parts += [text_of(d) for d in as_list(resource.get("orderDetail"))]
    parts += [as_str(as_dict(n).get("text")) or "" for n in as_list(resource.get("note"))]
    parts.append(as_str(resource.get("patientInstruction")) or "")
    return " ".join(p for p in parts if p)


def _shown_by(evidence: dict[str, Any], order: Order, facts: Facts, texts: dict[int, str]) -> str | None:
    """Where the order context shows a documentation element, or None."""
    if "orderElement" in evidence:
        name = evidence["orderElement"]
        return f"{order.resource_type}.{name}" if order.resource.get(name) not in (None, "", [], {}) else None
    if "prefetch" in evidence:
        key = evidence["prefetch"]
        found = {"consents": facts.consents, "conditions": facts.conditions}.get(key)
        return f"an active {evidence.get('resource', key)} on file" if found else None
    if "draftOrderCodes" in evidence:
        codes = set(evidence["draftOrderCodes"])
        hits = sorted({o.code for o in facts.orders if o.code in codes})
        return f"draft order {', '.join(hits)}" if hits else None
    if "orderText" in evidence:
        text = texts.get(id(order))
        if text is None:
            text = texts[id(order)] = _order_text(order)
        return "the order text" if evidence["_pattern"].search(text) else None
    if evidence.get("otherDraftOrders"):
        others = sorted({o.code for o in facts.orders if o is not order})
        return f"draft orders {', '.join(others)}" if others else None
    if evidence.get("orderCode"):
        return f"the ordered code {order.code}"
    return None


def compile_elements(elements: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(elements, list) or not elements:
        raise RuleError(f"{where}: order-documentation needs a non-empty `elements` list")
    for element in elements:
        for evidence in element.get("shownBy", []):
            if "orderText" in evidence:
                try:
                    evidence["_pattern"] = re.compile(evidence["orderText"], re.IGNORECASE)
                except re.error as exc:
                    raise RuleError(
                        f"{where}: bad orderText pattern {evidence['orderText']!r}: {exc}"
                    ) from exc
    return elements


def bind_order_documentation(facts: Facts, ctx: Context, rule: Any) -> Iterator[Binding]:
    docs = ctx.documentation
    texts: dict[int, str] = {}  # each order's text, read once however many elements look at it
    for order in facts.in_scope:
        if not rule.triggered(order.code):
            continue
        rows, shown, missing = [], [], []
        for element in rule.params["elements"]:
            code = element["code"]
            display = docs.elements.get(code, code)
            where = next(
                (w for e in element.get("shownBy", []) if (w := _shown_by(e, order, facts, texts))), None
            )
            note = element.get("note", "").replace("{order.code}", order.code)
            if where:
                shown.append(display)
            else:
                missing.append(display)
            rows.append(f"| {display} | {'yes: ' + where if where else 'not yet'} | {note} |")
        conditions = [
            f"{coding.get('code')} {coding.get('display') or ''}".strip()
            for condition in facts.conditions[:5]
            for coding in codings(condition.get("code"))[:1]
        ]
        form_id = docs.questionnaire_id or QUESTIONNAIRE_ID
        binding = _base(facts, order=order)
        binding["documentation"] = {
            "shown": shown,
            "missing": missing,
            # Element names can hold commas ("Cannula size, for each cannula"): listed with semicolons.
            "missing_text": "; ".join(missing) or "none",
            "count_shown": len(shown),
            "count_total": len(rows),
            "table": "| Element | Shown by the order context | Note |\n|---|---|---|\n" + "\n".join(rows),
            "questionnaire": f"{facts.base_url}/fhir/Questionnaire/{form_id}",
            "questionnaire_url": docs.questionnaire_url,
            "conditions": conditions,
            "conditions_text": "; ".join(conditions) or "none",
            "has_reason": bool(order.resource.get("reasonCode") or order.resource.get("reasonReference")),
        }
        yield binding


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


def bind_order_setting(facts: Facts, ctx: Context, rule: Any) -> Iterator[Binding]:
    pos_table = ctx.tables.files.get("place-of-service", {})
    facility = pos_table.get("facility", {})
    other_facility = set(pos_table.get("facilityOtherPayers", {}).get("codes", []))
    non_facility = pos_table.get("nonFacility", {})
    classes = pos_table.get("encounterClasses", {})
    encounter_pos = _encounter_pos(facts, pos_table.get("posSystems", []))
    encounter_class = as_str(as_dict(as_dict(facts.encounter).get("class")).get("code"))
    for order in facts.in_scope:
        if not rule.triggered(order.code):
            continue
        setting = {"kind": "unknown", "pos": None, "name": None, "where": None, "class": encounter_class}
        pos_list = [("ServiceRequest.locationCode", p) for p in order.pos] + [
            ("Encounter.location", p) for p in encounter_pos
        ]
        if pos_list:
            where, pos = pos_list[0]
            kind = "facility" if pos in facility or pos in other_facility else "non-facility"
            name = facility.get(pos) or non_facility.get(pos)
            place = f"POS {pos}" + (f" ({name})" if name else "")
            setting.update(kind=kind, pos=pos, name=name, where=f"{place} on {where}")
        elif encounter_class:
            setting.update(
                kind=classes.get(encounter_class, "unknown"), where=f"encounter class {encounter_class}"
            )
        binding = _base(facts, order=order)
        binding["setting"] = setting
        yield binding


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
    "order-documentation": Binder(
        "order-documentation",
        fields_of(
            [
                ("order", ORDER_FIELDS),
                ("request", REQUEST_FIELDS),
                (
                    "documentation",
                    [
                        "shown",
                        "missing",
                        "missing_text",
                        "count_shown",
                        "count_total",
                        "table",
                        "questionnaire",
                        "questionnaire_url",
                        "conditions",
                        "conditions_text",
                        "has_reason",
                    ],
                ),
            ]
        ),
        bind_order_documentation,
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
    ),
}


def emergent_text(facts: Facts, order: Order | None = None) -> str:
    value = is_emergent(facts, order)
    return {True: "emergent", False: "planned", None: "urgency not stated"}[value]
