"""order-documentation: which elements the procedure note must carry, and which of them the
order context already shows (an order element, a prefetch resource, another draft order, the order's
own words). The element table of each rule is built once, at load (prepare_documentation).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from plugin.cds_hooks.binders.common import ORDER_FIELDS, REQUEST_FIELDS, fields_of, order_binding
from plugin.cds_hooks.contract import Binder, Binding, Context, Rule
from plugin.cds_hooks.errors import RuleError
from plugin.cds_hooks.facts import Facts, Order
from plugin.cds_hooks.fhir import as_list

QUESTIONNAIRE_ID = "ecmo-cannulation-note"


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


def prepare_documentation(params: Mapping[str, Any], ctx: Context, where: str) -> list[DocumentationElement]:
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


def bind_order_documentation(facts: Facts, ctx: Context, rule: Rule) -> list[Binding]:
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
        binding = order_binding(facts, order)
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


ORDER_DOCUMENTATION = Binder(
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
)
