"""Stage 4: render findings as CDS Hooks cards, and coverage information as CRD system actions.

Every card names its rule (extension org.cpt-plugin.rule, and the closing line of the detail with the
rule's sources and as-of dates), carries a topic Coding, and says which order it concerns when the
request holds several (in words, and in CRD's davinci-crd.associated-resource extension).

A rule's card and action were compiled when the rule loaded (engine/cardplan.py: contract.CardPlan,
contract.CoveragePlan); here only the parts that read the binding are rendered, and a detail sentence
is kept only when it holds for the binding. The constant parts are shared between responses, which
are only read (serialised) after they are built.
"""

from __future__ import annotations

import os
from typing import Any

from plugin.cds_hooks.consistency import merge_same_topic, settle_suggestions
from plugin.cds_hooks.contract import ActionPlan, Binding, CardPlan, Finding
from plugin.cds_hooks.facts import Facts, Order
from plugin.cds_hooks.fhir import CPT, as_list
from plugin.cds_hooks.suggestions import COVERAGE_INFORMATION, recode, set_quantity
from plugin.storage.keys import time_ordered

TOPIC_SYSTEM = "https://fhir.cpt-plugin.org/CodeSystem/cds-card-topic"
OVERRIDE_SYSTEM = "https://fhir.cpt-plugin.org/CodeSystem/cds-override-reason"
TOPIC_DISPLAY = {
    "age-criteria": "Age criteria",
    "documentation": "Documentation",
    "coding-edit": "Coding edit",
    "site-of-service": "Site of service",
    "payer-policy": "Payer policy",
    "data-quality": "Data quality",
}
TOPIC_ORDER = list(TOPIC_DISPLAY)
_TOPIC_RANK = {topic: i for i, topic in enumerate(TOPIC_ORDER)}
SUMMARY_LIMIT = 139


class _IdPool:
    """Version 4 uuids made 64 at a time from one read of the OS random source (uuid.uuid4 costs
    2.5 us a call, most of it one getrandom syscall per id). list.pop hands each id to exactly one
    caller without a lock; the pool is emptied in a forked child, so workers never share ids."""

    BATCH = 64

    def __init__(self) -> None:
        self.ids: list[str] = []

    def take(self) -> str:
        try:
            return self.ids.pop()
        except IndexError:
            self.ids.extend(_format_ids(os.urandom(16 * self.BATCH).hex()))
            return self.take()

    def reset(self) -> None:
        self.ids = []


# The high hex digit of byte 8 with its top two bits set to the RFC 4122 variant (10xx).
_VARIANT = {d: "89ab"[int(d, 16) & 0x3] for d in "0123456789abcdef"}


def _format_ids(digits: str) -> list[str]:
    """32 random hex digits per id, with the version (4) and variant digits set."""
    return [
        f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"
        for h in (digits[i : i + 32] for i in range(0, len(digits), 32))
    ]


_POOL = _IdPool()
os.register_at_fork(after_in_child=_POOL.reset)


def new_uuid() -> str:
    """Suggestion and coverage-assertion ids (random, RFC 4122 version 4); tests patch this."""
    return _POOL.take()


def new_card_uuid() -> str:
    """Card ids: version 7 uuids (RFC 9562), time-ordered, because every card's id is a key of the
    issued-card index, and random keys make each insert touch a random page of it (see
    plugin/storage/keys.py); tests patch this."""
    return time_ordered(_POOL.take())


def _absolute(url: str, base_url: str) -> str:
    return f"{base_url}{url}" if url.startswith("/") else url


def _summary(text: str) -> str:
    """CDS Hooks asks for summaries under 140 characters; a longer one is cut between words."""
    text = " ".join(text.split())
    if len(text) <= SUMMARY_LIMIT:
        return text
    cut = text[: SUMMARY_LIMIT - 1]
    if text[SUMMARY_LIMIT - 1] != " " and " " in cut:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ;,:-(") + "…"


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _orders(binding: Binding) -> list[Order]:
    return [o for o in binding.get("_orders", {}).values() if o is not None]


def _known(text: str) -> str | None:
    """A rendered template value, or None where the fact behind it was missing."""
    return None if text in ("", "unknown") else text


def source_dict(label: str, url: str | None, topic: dict[str, Any]) -> dict[str, Any]:
    """A card's source: label, url when there is one, and the topic Coding."""
    source: dict[str, Any] = {"label": label}
    if url:
        source["url"] = url
    source["topic"] = topic
    return source


# --- rendered per request --------------------------------------------------------------------------


def _action(plan: ActionPlan, binding: Binding) -> dict[str, Any] | None:
    order: Order | None = binding.get("_orders", {}).get(plan.target)
    if order is None or order.ref is None:
        return None
    description = plan.description(binding)
    if plan.type == "delete":
        return {"type": "delete", "description": description, "resourceId": order.ref}
    if plan.type == "recode":
        assert plan.code is not None and plan.display is not None and plan.previous_display is not None
        display = _known(plan.display(binding))
        previous = _known(plan.previous_display(binding))
        code = plan.code(binding)
        resource = recode(order.resource, order.code, code, display, previous)
        return {"type": "update", "description": description, "resource": resource}
    assert plan.quantity is not None
    quantity = float(plan.quantity(binding))
    resource = set_quantity(order.resource, int(quantity))
    return {"type": "update", "description": description, "resource": resource}


def _suggestions(plan: CardPlan, binding: Binding) -> list[dict[str, Any]]:
    out = []
    for template in plan.suggestions:
        if not template.when(binding):
            continue
        actions = [a for a in (_action(t, binding) for t in template.actions) if a]
        if len(actions) != len(template.actions):
            continue
        suggestion: dict[str, Any] = {"label": template.label(binding), "uuid": new_uuid()}
        if template.is_recommended:
            suggestion["isRecommended"] = template.is_recommended[0]
        suggestion["actions"] = actions
        out.append(suggestion)
    return out


def _source(plan: CardPlan, binding: Binding) -> dict[str, Any]:
    if plan.source is not None:
        return plan.source
    url = plan.source_url(binding) if plan.source_url is not None else None
    return source_dict(plan.source_label(binding), url, plan.topic)


def render_card(finding: Finding, facts: Facts) -> dict[str, Any]:
    rule, binding = finding.rule, finding.binding
    plan = rule.card_plan
    assert plan is not None  # render_response renders only the findings of rules with a card
    orders = _orders(binding)
    parts = [plan.detail(binding)]
    for sentence in plan.sentences:
        if sentence.holds(binding):
            parts.append(sentence.render(binding))  # noqa: PERF401 - reads better than extend(genexpr)
    if len(facts.orders) > 1 and orders:
        parts.append(
            "This card concerns "
            + _and_list([f"the {o.code} order ({o.ref or 'no id'})" for o in orders])
            + "."
        )
    parts = [p for p in parts if p and not p.isspace()]  # no blank paragraphs
    parts.append(plan.closing)
    card: dict[str, Any] = {
        "uuid": new_card_uuid(),
        "summary": plan.summary(binding),
        "detail": "\n\n".join(parts),
        "indicator": plan.indicator,
        "source": plan.source if plan.source is not None else _source(plan, binding),
    }
    if plan.suggestions:
        suggestions = _suggestions(plan, binding)
        if suggestions:
            card["suggestions"] = suggestions
            card["selectionBehavior"] = plan.selection_behavior
    if plan.override_reasons is not None:
        card["overrideReasons"] = plan.override_reasons
    if plan.links:
        card["links"] = [
            {
                "label": link.label(binding),
                "url": _absolute(link.url(binding), facts.base_url),
                "type": "absolute",
            }
            for link in plan.links
        ]
    extension: dict[str, Any] = {"org.cpt-plugin.rule": plan.rule_ref}
    refs = [o.ref for o in orders if o.ref]
    if refs:
        if len(refs) > 1:
            refs = list(dict.fromkeys(refs))
        extension["davinci-crd.associated-resource"] = [{"reference": r} for r in refs]
    card["extension"] = extension
    return card


def _sub(url: str, value_key: str, value: Any) -> dict[str, Any]:
    return {"url": url, value_key: value}


def coverage_action(finding: Finding, facts: Facts) -> dict[str, Any] | None:
    """CRD coverage-information: the full order plus one ext-coverage-information, nothing else changed."""
    rule, binding = finding.rule, finding.binding
    order: Order | None = binding.get("_orders", {}).get("order")
    plan = rule.action_plan
    if order is None or facts.payer is None or not facts.payer.coverage_ref or plan is None:
        return None
    said = plan.by_payer.get(facts.payer.kind or "", plan.by_payer["default"])
    # Each reason sentence only where its condition holds for this order (e.g. its PFS indicator), then
    # the sources those sentences cite, and no others.
    texts: list[str] = []
    cited: dict[str, None] = {}
    for sentence in said.sentences:
        if sentence.holds(binding):
            texts.append(sentence.render(binding))
            cited.update(dict.fromkeys(sentence.sources))
    named = "; ".join([said.source_labels[i] for i in cited]) or "none (the reason says what is not verified)"
    texts.append(f"{said.rule_line} · Sources: {named}")
    reason = " ".join(texts)
    parts = [
        {"url": "coverage", "valueReference": {"reference": facts.payer.coverage_ref}},
        *said.fixed,
        *(said.documentation if said.documentation_when(binding) else ()),
        {"url": "billingCode", "valueCoding": {"system": CPT, "code": order.code}},
        {"url": "reason", "valueCodeableConcept": {"text": reason}},
        {"url": "date", "valueDate": facts.request_date.isoformat()},
        {"url": "coverage-assertion-id", "valueString": new_uuid()},
    ]
    resource = dict(order.resource)  # shallow: only `extension` is replaced, by a new list
    extensions = [
        e
        for e in as_list(resource.get("extension"))
        if not (isinstance(e, dict) and e.get("url") == COVERAGE_INFORMATION)
    ]
    resource["extension"] = [*extensions, {"url": COVERAGE_INFORMATION, "extension": parts}]
    return {"type": "update", "description": plan.description(binding), "resource": resource}


def render_response(findings: list[Finding], facts: Facts) -> dict[str, Any]:
    cards = [render_card(f, facts) for f in findings if f.rule.card_plan is not None]
    cards.sort(key=lambda c: (c["indicator"] != "warning", _TOPIC_RANK[c["source"]["topic"]["code"]]))
    if len(cards) > 1:
        cards = merge_same_topic(cards)
        settle_suggestions(cards, {o.ref: o.code for o in facts.orders if o.ref})
    actions = [a for a in (coverage_action(f, facts) for f in findings if f.rule.action_plan) if a]
    response: dict[str, Any] = {"cards": cards}
    if actions:
        response["systemActions"] = actions
    return response
