"""One request, one story: at most one card per topic for the same orders, and suggestions that never
pull against each other.

Cards are rendered rule by rule, so two of them can suggest changes that cannot both be accepted: the
age card recodes an order that a code-pair card would delete, a units card rewrites an order that the age
card rewrites to another code, a code-pair card deletes the order of the very code the age card recodes
to. CDS Hooks update actions carry the whole resource, so accepting both would also lose one change.

Cards arrive in the order the user reads them (warnings first, then by topic: age criteria before coding
edits). The first card that suggests a change to an order keeps it; a later suggestion that touches an
order already claimed, deletes an order of a code an earlier suggestion recodes to, or recodes to the code
of an order an earlier suggestion deletes, is left out, and its card says so in one sentence.
"""

from __future__ import annotations

from typing import Any

from plugin.cds_hooks.fhir import CPT

RULE = "org.cpt-plugin.rule"
# On a card that merges several rules' cards: every contributing rule ({id, version}), its own first.
MERGED_RULES = "org.cpt-plugin.merged-rules"
LEFT_OUT = "No change is suggested on this card: a card above already suggests a change to the same order."


def _touches(suggestion: dict[str, Any], code_of: dict[str, str]) -> tuple[set[str], set[str], set[str]]:
    """(orders it changes or deletes, codes it recodes to, codes of the orders it deletes)."""
    refs: set[str] = set()
    new_codes: set[str] = set()
    deleted_codes: set[str] = set()
    for action in suggestion.get("actions", []):
        if action.get("type") == "delete":
            ref = str(action.get("resourceId", ""))
            refs.add(ref)
            if ref in code_of:
                deleted_codes.add(code_of[ref])
        elif action.get("type") == "update":
            resource = action.get("resource") or {}
            ref = f"{resource.get('resourceType')}/{resource.get('id')}"
            refs.add(ref)
            for coding in (resource.get("code") or {}).get("coding") or []:
                cpt = isinstance(coding, dict) and coding.get("system") == CPT
                code = coding.get("code") if cpt else None
                if code and code != code_of.get(ref):
                    new_codes.add(code)
    return refs, new_codes, deleted_codes


def settle_suggestions(cards: list[dict[str, Any]], code_of: dict[str, str]) -> None:
    """Drop, in place, each suggestion that contradicts one on an earlier card. `code_of` maps an order
    reference ("ServiceRequest/sr-1") to its CPT code as sent."""
    claimed: set[str] = set()
    recoded_to: set[str] = set()
    deleted: set[str] = set()
    for card in cards:
        suggestions = card.get("suggestions")
        if not suggestions:
            continue
        kept, refs_here, new_here, deleted_here = [], set(), set(), set()
        for suggestion in suggestions:
            refs, new_codes, deleted_codes = _touches(suggestion, code_of)
            if refs & claimed or new_codes & deleted or deleted_codes & recoded_to:
                continue
            kept.append(suggestion)
            refs_here |= refs
            new_here |= new_codes
            deleted_here |= deleted_codes
        # Suggestions of one card are alternatives of each other: they claim orders only for later cards.
        claimed |= refs_here
        recoded_to |= new_here
        deleted |= deleted_here
        if len(kept) == len(suggestions):
            continue
        if kept:
            card["suggestions"] = kept
            continue
        del card["suggestions"]
        card.pop("selectionBehavior", None)
        body, sep, closing = card["detail"].rpartition("\n\n---\n")
        card["detail"] = f"{body}\n\n{LEFT_OUT}{sep}{closing}" if sep else f"{card['detail']}\n\n{LEFT_OUT}"


def _orders_of(card: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(r["reference"] for r in card["extension"].get("davinci-crd.associated-resource", [])))


def merge_same_topic(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most one card per topic for the same orders: a later card of the topic about the same orders
    (e.g. the units edit of an add-on that has no primary) becomes a paragraph of the first one, headed by
    its summary, with its suggestions as further alternatives, its sources line kept and its rule listed
    in the host's extension org.cpt-plugin.merged-rules."""
    first: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}
    kept = []
    for card in cards:
        orders = _orders_of(card)
        key = (card["source"]["topic"]["code"], orders)
        host = first.get(key) if orders else None
        if host is None:
            first[key] = card
            kept.append(card)
            continue
        # The merged card names every rule it is made of (the host's rule stays its primary rule).
        extension = host["extension"]
        merged = extension.get(MERGED_RULES) or [extension[RULE]]
        extension[MERGED_RULES] = [
            *merged,
            *(card["extension"].get(MERGED_RULES) or [card["extension"][RULE]]),
        ]
        body, _sep, closing = card["detail"].rpartition("\n\n---\n")
        host_body, sep, host_closing = host["detail"].rpartition("\n\n---\n")
        host["detail"] = f"{host_body}\n\n**{card['summary']}.** {body}{sep}{host_closing}\n{closing}"
        if card.get("suggestions"):
            host["suggestions"] = [*host.get("suggestions", []), *card["suggestions"]]
            host["selectionBehavior"] = "at-most-one"
        if card.get("overrideReasons"):
            known = {r["code"] for r in host.get("overrideReasons", [])}
            extra = [r for r in card["overrideReasons"] if r["code"] not in known]
            host["overrideReasons"] = [*host.get("overrideReasons", []), *extra]
    return kept
