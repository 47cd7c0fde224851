"""Version strings of canonical resources: ordering, wildcards and partial matches.

FHIR lets a version be pinned loosely: `1.0.x` (or `1.0.*`) stands for any 1.0 patch. Dotted
numbers order numerically; anything else compares as text, and dates (YYYYMMDD, YYYY-MM-DD) order
naturally that way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cmp_to_key
from typing import Any

_WILDCARDS = {"x", "X", "*"}
_SEMVER_PART = re.compile(r"^\d+$")


def has_wildcard(version: str | None) -> bool:
    return bool(version) and any(part in _WILDCARDS for part in _main_parts(version or ""))


def _main_parts(version: str) -> list[str]:
    return version.split("+", 1)[0].split("-", 1)[0].split(".")


def version_matches(criteria: str | None, candidate: str | None) -> bool:
    """Whether `candidate` satisfies `criteria`: the same version, or a match of a wildcard pattern
    (`1.0.x`, `1.x`, `1.*`). A bare `1` names a version of its own, not the 1.x family."""
    if not criteria:
        return True
    if candidate is None:
        return False
    if criteria == candidate:
        return True
    wanted = criteria.split(".")
    actual = candidate.split(".")
    if has_wildcard(criteria):
        for index, part in enumerate(wanted):
            if part in _WILDCARDS:
                return True
            if index >= len(actual) or actual[index] != part:
                return False
        return len(actual) == len(wanted)
    return False


def is_more_detailed(criteria: str | None, candidate: str | None) -> bool:
    """`candidate` refines `criteria` (same version, or criteria is a prefix/wildcard of it)."""
    return version_matches(criteria, candidate)


def _key_part(part: str) -> tuple[int, int, str]:
    if _SEMVER_PART.match(part):
        return (1, int(part), "")
    return (0, 0, part)


def compare_versions(a: str | None, b: str | None) -> int:
    """Negative when a < b. Dotted numbers compare numerically, pre-release labels sort first."""
    if a == b:
        return 0
    if not a:
        return -1
    if not b:
        return 1
    main_a, _, label_a = a.split("+", 1)[0].partition("-")
    main_b, _, label_b = b.split("+", 1)[0].partition("-")
    parts_a = [_key_part(p) for p in main_a.split(".")]
    parts_b = [_key_part(p) for p in main_b.split(".")]
    if parts_a != parts_b:
        return -1 if parts_a < parts_b else 1
    if label_a == label_b:
        return (a > b) - (a < b)
    if not label_a:
        return 1
    if not label_b:
        return -1
    return -1 if label_a < label_b else 1


version_key = cmp_to_key(compare_versions)


def latest(resources: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The resource with the highest version (a versionless one only when nothing else is there)."""
    best: dict[str, Any] | None = None
    for resource in resources:
        if best is None or compare_versions(resource.get("version"), best.get("version")) > 0:
            best = resource
    return best


def sort_versions(versions: Iterable[str]) -> list[str]:
    return sorted(versions, key=version_key)


def present_versions(versions: list[str]) -> str:
    """`1.0.0`, `1.0.0 or 2.0.0`, `1.0.0, 1.2.0 and 2.0.0` - as the version lists in messages read."""
    items = list(versions)
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} or {items[1]}"
    return ", ".join(items[:-1]) + " and " + items[-1]
