"""Binders: how a rule's `match.kind` turns the request's facts into bindings its condition tests.

Each binder declares the fact names it provides (checked against conditions and templates at load)
and returns one binding per thing a card could be about: an order, a pair of orders, a code's units,
the request's payer, a prefetch key that could not be had. The arithmetic lives here; what counts as
a problem, and what the card says, lives in the rule data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from plugin.cds_hooks.conditions import Binding, RuleError, fields_of
from plugin.cds_hooks.content import NO_COUNTERPART, AgeBands, Documentation
from plugin.cds_hooks.dates import age_bounds, age_text
from plugin.cds_hooks.facts import Facts, Order, is_emergent
from plugin.cds_hooks.fhir import as_dict, as_list, as_str, codings, contained
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


# --- order-documentation ---------------------------------------------------------------------------


def _order_text(order: Order) -> str:
    """The order's words (code text and displays, orderDetail, notes, patient instruction), in order."""
    resource = order.resource
    parts: list[str] = []
    details = resource.get("orderDetail")
    for concept in [resource.get("code"), *(details if isinstance(details, list) else ())]:
        # A CodeableConcept's human text: its text, then each coding's display.
        if not isinstance(concept, dict):
            continue
        text = concept.get("text")
        if isinstance(text, str) and text:
            parts.append(text)
        coding = concept.get("coding")
        if isinstance(coding, list):
            parts.extend(
                display
                for c in coding
                if isinstance(c, dict) and isinstance(display := c.get("display"), str) and display
            )
    notes = resource.get("note")
    if isinstance(notes, list):
        parts.extend(
            text
            for note in notes
            if isinstance(note, dict) and isinstance(text := note.get("text"), str) and text
        )
    instruction = resource.get("patientInstruction")
    if isinstance(instruction, str) and instruction:
        parts.append(instruction)
    return " ".join(parts)


# Where the order context shows a documentation element: (order, facts, order texts) -> where, or None.
Evidence = Callable[[Order, Facts, dict[int, str]], str | None]
_EMPTY = (None, "", [], {})


def _evidence(evidence: Any, where: str) -> Evidence | None:
    """One `shownBy` entry as a check; None for an entry that can never show the element."""
    if not isinstance(evidence, dict):
        raise RuleError(f"{where}: a shownBy entry is an object, got {evidence!r}")
    if "orderElement" in evidence:
        name = evidence["orderElement"]
        if not isinstance(name, str):
            raise RuleError(f"{where}: orderElement names an element, got {name!r}")

        def element(order: Order, facts: Facts, texts: dict[int, str]) -> str | None:
            return f"{order.resource_type}.{name}" if order.resource.get(name) not in _EMPTY else None

        return element
    if "prefetch" in evidence:
        key = evidence["prefetch"]
        if key not in ("consents", "conditions"):
            return None  # no other prefetch key is kept as a list of resources
        shown = f"an active {evidence.get('resource', key)} on file"
        if key == "consents":
            return lambda order, facts, texts: shown if facts.consents else None
        return lambda order, facts, texts: shown if facts.conditions else None
    if "draftOrderCodes" in evidence:
        codes = frozenset(evidence["draftOrderCodes"])

        def draft_codes(order: Order, facts: Facts, texts: dict[int, str]) -> str | None:
            hits = sorted({o.code for o in facts.orders if o.code in codes})
            return f"draft order {', '.join(hits)}" if hits else None

        return draft_codes
    if "orderText" in evidence:
        try:
            pattern = re.compile(evidence["orderText"], re.IGNORECASE)
        except (re.error, TypeError) as exc:
            raise RuleError(f"{where}: bad orderText pattern {evidence['orderText']!r}: {exc}") from exc

        def order_text(order: Order, facts: Facts, texts: dict[int, str]) -> str | None:
            text = texts.get(id(order))
            if text is None:
                text = texts[id(order)] = _order_text(order)
            return "the order text" if pattern.search(text) else None

        return order_text
    if evidence.get("otherDraftOrders"):

        def other_orders(order: Order, facts: Facts, texts: dict[int, str]) -> str | None:
            others = sorted({o.code for o in facts.orders if o is not order})
            return f"draft orders {', '.join(others)}" if others else None

        return other_orders
    if evidence.get("orderCode"):
        return lambda order, facts, texts: f"the ordered code {order.code}"
    return None


@dataclass(frozen=True)
class DocumentationElement:
    display: str
    shown_head: str  # the table row up to where the "shown by" cell says where
    missing_head: str  # the table row up to the note, for an element not shown
    tail: tuple[str, ...]  # the rest of the row, split where the note names {order.code}
    missing_row: str | None  # the whole row for an element not shown, when the note names no order
    evidence: tuple[Evidence, ...]


def prepare_documentation(params: dict[str, Any], ctx: Context, where: str) -> list[DocumentationElement]:
    """The element table of an order-documentation rule, with displays and checks resolved once."""
    elements = params.get("elements")
    if not isinstance(elements, list) or not elements:
        raise RuleError(f"{where}: order-documentation needs a non-empty `elements` list")
    table = []
    for i, element in enumerate(elements):
        here = f"{where}: elements[{i}]"
        code, note, shown_by = element.get("code"), element.get("note", ""), element.get("shownBy", [])
        if not isinstance(code, str) or not isinstance(note, str) or not isinstance(shown_by, list):
            raise RuleError(f"{here}: needs a code, and a note and shownBy list if any")
        display = ctx.documentation.elements.get(code, code)
        checks = (_evidence(e, here) for e in shown_by)
        tail = tuple(f" | {note} |".split("{order.code}"))
        table.append(
            DocumentationElement(
                display=display,
                shown_head=f"| {display} | yes: ",
                missing_head=f"| {display} | not yet",
                tail=tail,
                missing_row=f"| {display} | not yet{tail[0]}" if len(tail) == 1 else None,
                evidence=tuple(c for c in checks if c is not None),
            )
        )
    return table


DOCUMENTATION_HEADER = "| Element | Shown by the order context | Note |\n|---|---|---|\n"


def _condition_hints(facts: Facts) -> list[str]:
    """The first coding of each of the first five active conditions, as "code display"."""
    hints = []
    for condition in facts.conditions[:5]:
        concept = condition.get("code")
        if not isinstance(concept, dict):
            continue
        for coding in as_list(concept.get("coding")):
            if isinstance(coding, dict):
                hints.append(f"{coding.get('code')} {coding.get('display') or ''}".strip())
                break
    return hints


def bind_order_documentation(facts: Facts, ctx: Context, rule: Any) -> list[Binding]:
    found: list[Binding] = []
    docs = ctx.documentation
    table: list[DocumentationElement] = rule.prepared
    texts: dict[int, str] = {}  # each order's text, read once however many elements look at it
    request: dict[str, Any] | None = None  # what does not depend on the order, read once
    for order in facts.in_scope:
        if not rule.triggered(order.code):
            continue
        rows, shown, missing = [], [], []
        for element in table:
            where = None
            for evidence in element.evidence:
                where = evidence(order, facts, texts)
                if where:
                    break
            tail = element.tail
            if where:
                shown.append(element.display)
                rows.append(
                    element.shown_head + where + (tail[0] if len(tail) == 1 else order.code.join(tail))
                )
            else:
                missing.append(element.display)
                rows.append(element.missing_row or element.missing_head + order.code.join(tail))
        if request is None:
            conditions = _condition_hints(facts)
            form_id = docs.questionnaire_id or QUESTIONNAIRE_ID
            request = {
                "questionnaire": f"{facts.base_url}/fhir/Questionnaire/{form_id}",
                "conditions": conditions,
                "conditions_text": "; ".join(conditions) or "none",
            }
        binding = _order_base(facts, order)
        binding["documentation"] = {
            "shown": shown,
            "missing": missing,
            # Element names can hold commas ("Cannula size, for each cannula"): listed with semicolons.
            "missing_text": "; ".join(missing) or "none",
            "count_shown": len(shown),
            "count_total": len(rows),
            "table": DOCUMENTATION_HEADER + "\n".join(rows),
            "questionnaire": request["questionnaire"],
            "questionnaire_url": docs.questionnaire_url,
            "conditions": request["conditions"],
            "conditions_text": request["conditions_text"],
            "has_reason": bool(order.resource.get("reasonCode") or order.resource.get("reasonReference")),
        }
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
        params=("elements",),
        prepare=prepare_documentation,
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
