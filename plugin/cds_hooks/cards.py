"""Stage 4: render findings as CDS Hooks cards, and coverage information as CRD system actions.

Every card names its rule (extension org.cpt-plugin.rule, and the closing line of the detail with the
rule's sources and as-of dates), carries a topic Coding, and says which order it concerns when the
request holds several (in words, and in CRD's davinci-crd.associated-resource extension).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from plugin.cds_hooks.conditions import Binding, render
from plugin.cds_hooks.facts import Facts, Order
from plugin.cds_hooks.fhir import CPT, as_list
from plugin.cds_hooks.rules import Finding, Rule, sources_line
from plugin.cds_hooks.suggestions import COVERAGE_INFORMATION, recode, set_quantity

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
SUMMARY_LIMIT = 139


class _RandomPool:
    """Random bytes for uuids, read from the OS 1 KiB at a time (uuid.uuid4 costs 2.5 us a call, most
    of it one getrandom syscall per id). Emptied in a forked child, so workers never share ids."""

    SIZE = 1024

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.buffer = b""
        self.offset = 0

    def take16(self) -> bytes:
        with self.lock:
            if self.offset + 16 > len(self.buffer):
                self.buffer, self.offset = os.urandom(self.SIZE), 0
            chunk = self.buffer[self.offset : self.offset + 16]
            self.offset += 16
            return chunk

    def reset(self) -> None:
        self.lock = threading.Lock()
        self.buffer, self.offset = b"", 0


_POOL = _RandomPool()
os.register_at_fork(after_in_child=_POOL.reset)


def new_uuid() -> str:
    """Card, suggestion and assertion ids (random, RFC 4122 version 4); tests patch this."""
    raw = bytearray(_POOL.take16())
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


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


def _action(template: dict[str, Any], binding: Binding) -> dict[str, Any] | None:
    order: Order | None = binding.get("_orders", {}).get(template.get("target", "order"))
    if order is None or order.ref is None:
        return None
    description = render(template["description"], binding)
    if template["type"] == "delete":
        return {"type": "delete", "description": description, "resourceId": order.ref}
    if template["type"] == "recode":
        display = _known(render(template.get("display", ""), binding))
        previous = _known(render(template.get("previousDisplay", ""), binding))
        code = render(template["code"], binding)
        resource = recode(order.resource, order.code, code, display, previous)
        return {"type": "update", "description": description, "resource": resource}
    quantity = float(render(str(template["quantity"]), binding))
    resource = set_quantity(order.resource, int(quantity))
    return {"type": "update", "description": description, "resource": resource}


def _suggestions(rule: Rule, binding: Binding) -> list[dict[str, Any]]:
    out = []
    for template in rule.card.get("suggestions", []) if rule.card else []:
        if not template["_when"](binding):
            continue
        actions = [a for a in (_action(t, binding) for t in template["actions"]) if a]
        if len(actions) != len(template["actions"]):
            continue
        suggestion: dict[str, Any] = {"label": render(template["label"], binding), "uuid": new_uuid()}
        if "isRecommended" in template:
            suggestion["isRecommended"] = template["isRecommended"]
        suggestion["actions"] = actions
        out.append(suggestion)
    return out


def _source(rule: Rule, binding: Binding) -> dict[str, Any]:
    template = rule.card.get("source", {}) if rule.card else {}
    first = rule.sources[0] if rule.sources else {}
    label = render(template["label"], binding) if "label" in template else first.get("label", rule.title)
    url = next((s["url"] for s in rule.sources if s.get("url")), None)
    source: dict[str, Any] = {"label": label}
    if "url" in template:
        url = render(template["url"], binding)
    if url:
        source["url"] = url
    source["topic"] = {"system": TOPIC_SYSTEM, "code": rule.topic, "display": TOPIC_DISPLAY[rule.topic]}
    return source


def render_card(finding: Finding, facts: Facts) -> dict[str, Any]:
    rule, binding = finding.rule, finding.binding
    template = rule.card or {}
    orders = _orders(binding)
    parts = [render(template["detail"], binding)]
    parts += [render(s["text"], binding) for s in template.get("sections", []) if s["_when"](binding)]
    if len(facts.orders) > 1 and orders:
        parts.append(
            "This card concerns "
            + _and_list([f"the {o.code} order ({o.ref or 'no id'})" for o in orders])
            + "."
        )
    parts.append("---\n" + sources_line(rule))
    card: dict[str, Any] = {
        "uuid": new_uuid(),
        "summary": _summary(render(template["summary"], binding)),
        "detail": "\n\n".join(p for p in parts if p.strip()),
        "indicator": template["indicator"],
        "source": _source(rule, binding),
    }
    suggestions = _suggestions(rule, binding)
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = template.get("selectionBehavior", "at-most-one")
    if template.get("overrideReasons"):
        card["overrideReasons"] = [
            {"code": r["code"], "system": OVERRIDE_SYSTEM, "display": r["display"]}
            for r in template["overrideReasons"]
        ]
    links = [
        {
            "label": render(link["label"], binding),
            "url": _absolute(render(link["url"], binding), facts.base_url),
            "type": "absolute",
        }
        for link in template.get("links", [])
    ]
    if links:
        card["links"] = links
    extension: dict[str, Any] = {"org.cpt-plugin.rule": {"id": rule.id, "version": rule.version}}
    refs = list(dict.fromkeys(o.ref for o in orders if o.ref))
    if refs:
        extension["davinci-crd.associated-resource"] = [{"reference": r} for r in refs]
    card["extension"] = extension
    return card


def _sub(url: str, value_key: str, value: Any) -> dict[str, Any]:
    return {"url": url, value_key: value}


def coverage_action(finding: Finding, facts: Facts) -> dict[str, Any] | None:
    """CRD coverage-information: the full order plus one ext-coverage-information, nothing else changed."""
    rule, binding = finding.rule, finding.binding
    order: Order | None = binding.get("_orders", {}).get("order")
    if order is None or facts.payer is None or not facts.payer.coverage_ref or rule.system_action is None:
        return None
    by_payer = rule.system_action["byPayer"]
    values = by_payer.get(facts.payer.kind or "", by_payer["default"])
    parts = [_sub("coverage", "valueReference", {"reference": facts.payer.coverage_ref})]
    parts.append(_sub("covered", "valueCode", values["covered"]))
    if "pa-needed" in values:
        parts.append(_sub("pa-needed", "valueCode", values["pa-needed"]))
    parts += [_sub("doc-needed", "valueCode", v) for v in values.get("doc-needed", [])]
    parts += [_sub("doc-purpose", "valueCode", v) for v in values.get("doc-purpose", [])]
    parts.append(_sub("billingCode", "valueCoding", {"system": CPT, "code": order.code}))
    parts.append(_sub("reason", "valueCodeableConcept", {"text": f"{values['reason']} {sources_line(rule)}"}))
    parts.append(_sub("date", "valueDate", facts.request_date.isoformat()))
    parts.append(_sub("coverage-assertion-id", "valueString", new_uuid()))
    resource = dict(order.resource)  # shallow: only `extension` is replaced, by a new list
    extensions = [
        e
        for e in as_list(resource.get("extension"))
        if not (isinstance(e, dict) and e.get("url") == COVERAGE_INFORMATION)
    ]
    resource["extension"] = [*extensions, {"url": COVERAGE_INFORMATION, "extension": parts}]
    return {
        "type": "update",
        "description": render(rule.system_action["description"], binding),
        "resource": resource,
    }


def render_response(findings: list[Finding], facts: Facts) -> dict[str, Any]:
    cards = [render_card(f, facts) for f in findings if f.rule.card is not None]
    cards.sort(key=lambda c: (c["indicator"] != "warning", TOPIC_ORDER.index(c["source"]["topic"]["code"])))
    actions = [a for a in (coverage_action(f, facts) for f in findings if f.rule.system_action) if a]
    response: dict[str, Any] = {"cards": cards}
    if actions:
        response["systemActions"] = actions
    return response
