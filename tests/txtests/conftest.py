"""Fixtures of the txtests area: the pinned tx-ecosystem folder, and turning an expected response
(with templates) into a concrete response a correct server could send, so the scrub/sort/compare
pipeline can be checked against every expected file of the pinned suite.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tools.txtests.compare import Comparator, java_split

PINNED = Path(__file__).resolve().parents[1] / "data" / "tx-ecosystem"


def require_pinned(folder: Path) -> Path:
    """The pinned subset's absence is a failure with a clear message, never a skip."""
    if not (folder / "test-cases.json").is_file():
        pytest.fail(
            f"the pinned tx-ecosystem tests are missing: expected {folder}/test-cases.json "
            "(they are committed under tests/data/tx-ecosystem)"
        )
    return folder


@pytest.fixture
def pinned_tests_dir() -> Path:
    return require_pinned(PINNED)


@pytest.fixture
def require_pinned_tests() -> Callable[[Path], Path]:
    return require_pinned


@pytest.fixture
def materialized() -> Callable[..., Any]:
    return materialize


@pytest.fixture
def shuffled() -> Callable[[Any, Any], None]:
    return shuffle_sorted_lists


FIXED = {
    "$$": "anything",
    "$instant$": "2026-11-25T09:00:00.123Z",
    "$date$": "2026-11-25",
    "$uuid$": "urn:uuid:0b8e3c2a-1f2d-4e5f-8a9b-0c1d2e3f4a5b",
    "$id$": "abc-1.2",
    "$url$": "http://example.org/fhir/thing",
    "$token$": "token_1.0",
    "$string$": "some text",
    "$semver$": "1.9.3",
}
DROP = {"$optional$", "$optional-properties$", "$count-arrays$"}


def materialize(node: Any, version: str = "5.0.0", modes: tuple[str, ...] = ("general",)) -> Any:
    """Array items that are optional for this version and these modes are left out (some expected
    files list an optional item out of sorted order, so a server sending it would not pass)."""
    judge = Comparator(modes, None, {"version": version})
    return _materialize(node, version, judge)


def _materialize(node: Any, version: str, judge: Comparator) -> Any:
    if isinstance(node, dict):
        return {k: _materialize(v, version, judge) for k, v in node.items() if k not in DROP}
    if isinstance(node, list):
        return [_materialize(v, version, judge) for v in node if not judge._is_optional(v)]
    if not isinstance(node, str):
        return node
    if not (node.startswith("$") and node.endswith("$")) or len(node) < 2:
        return node.replace("$version$", version)
    if node in FIXED:
        return FIXED[node]
    if node == "$version$":
        return version
    if node.startswith("$choice:"):
        return java_split(node[8:-1], "|")[0]
    if node.startswith("$fragments:"):
        return " ".join(java_split(node[11:-1], "|"))
    if node.startswith("$external:"):
        cmd = java_split(node[1:-1], ":")
        return " ".join(java_split(cmd[2], "|")) if len(cmd) > 2 else "a message"
    raise ValueError(f"template not covered: {node}")


def shuffle_sorted_lists(resource: Any, rng: Any) -> None:
    """Shuffle the lists the runner sorts whose sort keys are all distinct (Parameters.parameter by
    name, expansion.parameter by name and value, expansion.contains by code at every level), as a
    server that does not care about order might send them."""
    if not isinstance(resource, dict):
        return
    if resource.get("resourceType") == "Parameters":
        params = resource.get("parameter", [])
        _shuffle_if_distinct(params, lambda p: p.get("name"), rng)
        for param in params:
            shuffle_sorted_lists(param.get("resource"), rng)
    elif resource.get("resourceType") == "ValueSet" and isinstance(resource.get("expansion"), dict):
        expansion = resource["expansion"]
        _shuffle_if_distinct(expansion.get("parameter", []), lambda p: (p.get("name"), str(p)), rng)
        _shuffle_contains(expansion.get("contains", []), rng)


def _shuffle_if_distinct(items: list, key: Any, rng: Any) -> None:
    if len({key(i) for i in items}) == len(items):
        rng.shuffle(items)


def _shuffle_contains(items: list, rng: Any) -> None:
    _shuffle_if_distinct(items, lambda c: c.get("code"), rng)
    for item in items:
        _shuffle_contains(item.get("contains", []), rng)
