"""One CDS Hooks call, in named stages: validate -> resolve prefetch -> build facts -> evaluate rules
-> render cards. Each stage is a function of plain data; this module only strings them together."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from flask import Flask

from plugin import clock
from plugin.cds_hooks import prefetch
from plugin.cds_hooks.cards import render_response
from plugin.cds_hooks.consistency import MERGED_RULES
from plugin.cds_hooks.engine import RuleSet
from plugin.cds_hooks.facts import Order, build_facts, build_orders
from plugin.cds_hooks.fhir import as_list, reference_of, resources
from plugin.cds_hooks.schemas import HOOK_SCHEMAS, Schemas
from plugin.cds_hooks.services import Catalog, Service
from plugin.cds_hooks.tables import Tables

log = logging.getLogger(__name__)


class CdsError(Exception):
    """An error answered as JSON {"error", "message"} with an HTTP status, and the field to blame if any."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


@dataclass(frozen=True)
class CallResult:
    """A call's answer and what its audit line records: hook, hookInstance, rule ids, card count, and
    which topic and rule each card had (`issued`), so feedback can be reported per kind."""

    response: dict[str, Any]
    audit: dict[str, Any]


@dataclass
class CdsHooks:
    """Everything the service loads once: schemas, service definitions, fact tables and compiled rules."""

    schemas: Schemas
    catalog: Catalog
    tables: Tables
    rules: RuleSet


def parse_body(mimetype: str, read: Callable[[], bytes]) -> Any:
    """The request body as JSON: 415 unless the media type is JSON, 400 unless it parses."""
    if mimetype != "application/json" and not (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    ):
        raise CdsError(
            415,
            "unsupported-media-type",
            f"send JSON (Content-Type: application/json), not {mimetype or 'no type'!r}",
        )
    try:
        return orjson.loads(read())
    except orjson.JSONDecodeError as exc:
        raise CdsError(400, "invalid-json", f"the body is not valid JSON: {exc}") from exc


def validate(cds: CdsHooks, service: Service, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise CdsError(400, "invalid-request", "the request body must be a JSON object")
    error = cds.schemas.first_error(HOOK_SCHEMAS[service.hook], body)
    if error is not None:
        field, message = error
        raise CdsError(400, "invalid-request", message, field)
    context = body["context"]
    if service.hook == "order-select":
        known = {reference_of(r) for r in resources(context["draftOrders"])}
        for index, selection in enumerate(as_list(context.get("selections"))):
            if selection not in known:
                field = f"context.selections[{index}]"
                raise CdsError(
                    400, "invalid-request", f"{field}: {selection!r} is not in context.draftOrders", field
                )
    return body


def check_order_limits(orders: list[Order], limits: dict[str, Any]) -> None:
    """Refuse a call with more draft orders, or more ECMO/ECLS family orders, than one call checks.

    Every pair of orders is checked against the NCCI edits and each order gets its own cards and
    coverage action, so the answer grows with the square of the orders: 400 family orders took
    5 s and answered 74 MB. The limits (`[limits]`) are far above any real order session."""
    family = sum(1 for o in orders if o.in_family)
    for count, key, what in (
        (len(orders), "max_draft_orders", "orders"),
        (family, "max_family_orders", "ECMO/ECLS cannulation orders"),
    ):
        if count > limits[key]:
            message = (
                f"context.draftOrders holds {count} {what}; this service checks at most {limits[key]} "
                f"in one call (limits.{key})"
            )
            raise CdsError(400, "invalid-request", message, "context.draftOrders")


def relevant(orders: list[Order], tables: Tables) -> bool:
    """Does this request concern the ECMO/ECLS family at all? If not, the answer is {"cards": []}."""
    family = [o for o in orders if o.in_family]
    if not family:
        return False
    if any(o.selected for o in family):
        return True
    return any(
        tables.ptp_edit(o.code, f.code) or tables.ptp_edit(f.code, o.code) or o.code in tables.add_ons
        for o in orders
        if o.selected
        for f in family
    )


def run(app: Flask, cds: CdsHooks, service: Service, body: Any, base_url: str) -> CallResult:
    """Validate, resolve prefetch, build facts, evaluate rules, render cards: the answer and its audit."""
    body = validate(cds, service, body)
    facts_of_call: dict[str, Any] = {
        "service": service.id,
        "hook": service.hook,
        "hookInstance": body["hookInstance"],
        "rules": [],
    }
    context = body["context"]
    orders = build_orders(service.hook, context, cds.tables, clock.today())
    if not relevant(orders, cds.tables):
        return CallResult({"cards": []}, {**facts_of_call, "cards": 0})
    check_order_limits(orders, app.config["PLUGIN"]["limits"])
    try:
        resolved = prefetch.resolve(app, body, service.prefetch)
    except prefetch.PrefetchMismatchError as exc:
        raise CdsError(400, "invalid-request", str(exc), "prefetch.patient.id") from exc
    facts = build_facts(
        hook=service.hook,
        service_id=service.id,
        context=context,
        prefetch=resolved.data,
        prefetch_issues=resolved.issues,
        tables=cds.tables,
        base_url=base_url,
        orders=orders,
    )
    findings = cds.rules.evaluate(facts)
    response = render_response(findings, facts)
    # The issued cards are stored with the call's audit row in one write-behind item
    # (security.audit.write_audit), after the answer.
    issued = [
        {
            "uuid": card["uuid"],
            "topic": card["source"]["topic"]["code"],
            "rule_id": issued_rule_id(card),
        }
        for card in response["cards"]
    ]
    audit = {
        **facts_of_call,
        "rules": sorted({f.rule.id for f in findings}),
        "cards": len(response["cards"]),
        "issued": issued,
    }
    return CallResult(response, audit)


ISSUED_RULE_ID_MAX = 200  # issued_cards.rule_id


def issued_rule_id(card: dict[str, Any]) -> str:
    """The rule id stored for an issued card: its rule's, or for a merged card every contributing rule's
    joined by "+" (rule ids never contain it), so feedback on it is reported for each of them."""
    merged = card["extension"].get(MERGED_RULES)
    if not merged:
        return str(card["extension"]["org.cpt-plugin.rule"]["id"])
    joined = ""
    for rule_id in dict.fromkeys(r["id"] for r in merged):
        if len(joined) + len(rule_id) + 1 > ISSUED_RULE_ID_MAX:
            break  # the store keeps 200 characters; the card itself lists every rule
        joined = f"{joined}+{rule_id}" if joined else rule_id
    return joined


def precondition_outcome(message: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "not-found", "details": {"text": message}}],
    }
