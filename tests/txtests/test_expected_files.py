"""The whole pipeline against every expected file of the pinned suite: a response a correct server
could send (the expected file with its templates filled in) passes after scrub, sort and compare,
also when the server lists parameters and codes in another order; and breaking it makes it fail."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import pytest

from tools.txtests.compare import Comparator
from tools.txtests.manifest import load_manifest
from tools.txtests.scrub import scrub_resource
from tools.txtests.sort import sort_resource


def response_files(folder: Path) -> list[tuple[str, str]]:
    manifest = load_manifest(folder)
    files = {
        (value, test.operation)
        for suite in manifest.suites
        for test in suite.tests
        for key, value in test.spec.items()
        if key == "response" or key.startswith("response:")
    }
    return sorted(files)


def normalise(actual: dict, operation: str) -> dict:
    if operation not in ("metadata", "term-caps"):
        scrub_resource(actual)
    sort_resource(actual)
    return actual


@pytest.mark.parametrize("version", ["5.0.0", "4.0.1"])
def test_every_expected_file__accepts_a_conforming_answer(pinned_tests_dir, materialized, version) -> None:
    manifest = load_manifest(pinned_tests_dir)
    failures = []
    files = response_files(pinned_tests_dir)
    for name, operation in files:
        expected = manifest.load(name)
        actual = normalise(materialized(expected, version), operation)
        comparator = Comparator(
            ["general"], None, {"version": version}, operation in ("metadata", "term-caps")
        )
        found = comparator.compare(expected, actual)
        if found:
            failures.append(f"{name}: {found}")
    assert len(files) > 440
    assert failures == []


def test_every_expected_file__accepts_the_answer_in_any_order(
    pinned_tests_dir, materialized, shuffled
) -> None:
    manifest = load_manifest(pinned_tests_dir)
    rng = random.Random(20261125)
    failures, needed_sorting = [], 0
    for name, operation in response_files(pinned_tests_dir):
        if operation in ("metadata", "term-caps"):
            continue
        expected = manifest.load(name)
        answer = materialized(expected)
        shuffled(answer, rng)
        unsorted = copy.deepcopy(answer)
        scrub_resource(unsorted)
        if Comparator(["general"], None, {"version": "5.0.0"}).compare(expected, unsorted):
            needed_sorting += 1
        found = Comparator(["general"], None, {"version": "5.0.0"}).compare(
            expected, normalise(answer, operation)
        )
        if found:
            failures.append(f"{name}: {found}")
    assert failures == []
    assert needed_sorting > 100  # the shuffle really changed the order, and sorting repaired it


def test_every_expected_file__rejects_a_changed_answer(pinned_tests_dir, materialized) -> None:
    """Flip the first boolean (or append to the first plain string) of each answer: it must fail."""
    manifest = load_manifest(pinned_tests_dir)
    survived = []
    for name, operation in response_files(pinned_tests_dir):
        if operation in ("metadata", "term-caps"):
            continue
        expected = manifest.load(name)
        answer = materialized(expected)
        if _break_first_value(answer):
            found = Comparator(["general"], None, {"version": "5.0.0"}).compare(
                expected, normalise(answer, operation)
            )
            if found is None:
                survived.append(name)
    assert survived == []


def _break_first_value(node) -> bool:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("valueBoolean", "result") and isinstance(value, bool):
                node[key] = not value
                return True
            if key in ("code", "severity", "url", "name") and isinstance(value, str):
                node[key] = value + "-changed-123"
                return True
        return any(_break_first_value(v) for v in node.values())
    if isinstance(node, list):
        return any(_break_first_value(v) for v in node)
    return False
