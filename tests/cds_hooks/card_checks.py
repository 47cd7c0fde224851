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
    """Suggestions of different cards that cannot all be accepted: one removes an order another changes,
    one removes the order of a code another recodes to, or two change one order to different codes.
    The suggestions of one card are alternatives (selectionBehavior at-most-one), so they are not compared."""
    found = []
    claims = []  # per card: (summary, {order id: code after}, {order id: code of a removed order})
    for card in response["cards"]:
        changed: dict[str, str] = {}
        removed: dict[str, str] = {}
        for suggestion in card.get("suggestions", []):
            for action in suggestion["actions"]:
                if action["type"] == "delete":
                    code = action["description"].rsplit("CPT ", 1)[-1].rstrip(")")
                    removed[action["resourceId"].split("/")[-1]] = code
                elif action["type"] == "update":
                    resource = action["resource"]
                    codes = [c["code"] for c in resource["code"]["coding"] if c.get("system") == CPT]
                    changed[resource["id"]] = codes[0]
        claims.append((card["summary"], changed, removed))
    for i, (one, changed_a, removed_a) in enumerate(claims):
        for other, changed_b, removed_b in claims[i + 1 :]:
            both = (set(changed_a) | set(removed_a)) & (set(changed_b) | set(removed_b))
            found += [f"{o}: changed or removed by both {one!r} and {other!r}" for o in sorted(both)]
            after_a = set(changed_a.values()) & set(removed_b.values())
            found += [f"{c} is the code after {one!r}; {other!r} removes its order" for c in sorted(after_a)]
            after_b = set(changed_b.values()) & set(removed_a.values())
            found += [f"{c} is the code after {other!r}; {one!r} removes its order" for c in sorted(after_b)]
    return found
