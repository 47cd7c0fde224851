"""Checks over whole CDS Hooks responses: suggestions that contradict each other, wording meant for the
team that must never reach a user."""

from __future__ import annotations

import re
from typing import Any

CPT = "http://www.ama-assn.org/go/cpt"

# Phrases of source-keeping and work notes: none belongs in anything a user reads.
DENY = re.compile(
    r"domain summary|confirm against|\bseed\b|our notes|\bTODO\b|\bFIXME\b|snapshot summary|"
    r"the research|we did not|we found|team's|source document",
    re.IGNORECASE,
)


def internal_phrases(text: str) -> list[str]:
    return [m.group(0) for m in DENY.finditer(text)]


def contradictions(response: dict[str, Any]) -> list[str]:
    """Suggestions on one response that cannot all be right: one removes an order another changes, one
    removes the order of a code another recodes to, or two change one order to different codes."""
    removed: dict[str, tuple[str, str]] = {}  # order id -> (its code, card summary)
    changed: dict[str, list[tuple[str, str]]] = {}  # order id -> [(code after the change, card summary)]
    for card in response["cards"]:
        for suggestion in card.get("suggestions", []):
            for action in suggestion["actions"]:
                if action["type"] == "delete":
                    code = action["description"].rsplit("CPT ", 1)[-1].rstrip(")")
                    removed[action["resourceId"].split("/")[-1]] = (code, card["summary"])
                elif action["type"] == "update":
                    resource = action["resource"]
                    codes = [c["code"] for c in resource["code"]["coding"] if c.get("system") == CPT]
                    changed.setdefault(resource["id"], []).append((codes[0], card["summary"]))
    found = []
    removed_codes = {code: summary for code, summary in removed.values()}
    for order_id, changes in changed.items():
        if order_id in removed:
            found.append(f"{order_id} changed by {changes[0][1]!r} and removed by {removed[order_id][1]!r}")
        if len({code for code, _ in changes}) > 1:
            found.append(f"{order_id} changed to different codes: {changes}")
        for code, summary in changes:
            if code in removed_codes:
                found.append(f"{code} is the code after {summary!r}; {removed_codes[code]!r} removes it")
    return found
