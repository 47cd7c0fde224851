"""Replay scenarios against a CDS service over HTTP and compare the cards with what each expects.

Cards are compared by topic and indicator, and by rule id where the scenario names one; an
"exact" scenario must get exactly its cards, an "includes" one (imported patients) must get its
cards and none with a forbidden topic.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any

import requests

from plugin.sandbox.bundles import ExpectedCard
from plugin.sandbox.hookrequest import CONTRACT_PREFETCH, CONTRACT_SERVICES, build_request
from plugin.sandbox.store import PatientRecord

RULE_EXTENSION = "org.cpt-plugin.rule"


@dataclass
class Service:
    id: str
    hook: str
    prefetch: dict[str, str]


@dataclass
class Outcome:
    scenario: str
    hook: str
    status: str  # PASS, FAIL or ERROR
    cards: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    error: str = ""
    millis: float = 0.0


class ReplayError(RuntimeError):
    """The service could not be asked at all (discovery failed): nothing to compare."""


def discover(base: str, session: requests.Session, timeout: float = 10.0) -> dict[str, Service]:
    """hook -> the ECMO cannulation service for it, with its prefetch templates."""
    url = f"{base}/cds-services"
    try:
        response = session.get(url, timeout=timeout)
    except requests.RequestException as exc:
        raise ReplayError(f"cannot reach {url}: {exc}") from exc
    if response.status_code != 200:
        raise ReplayError(f"GET {url} answered {response.status_code}: {response.text[:200]}")
    try:
        services = response.json().get("services", [])
    except ValueError as exc:
        raise ReplayError(f"GET {url} did not return JSON") from exc
    found: dict[str, Service] = {}
    for hook, wanted in CONTRACT_SERVICES.items():
        for service in services:
            if service.get("id") == wanted and service.get("hook") == hook:
                found[hook] = Service(wanted, hook, dict(service.get("prefetch") or {}))
    return found


def card_key(card: dict[str, Any]) -> tuple[str, str, str | None]:
    topic = ((card.get("source") or {}).get("topic") or {}).get("code", "?")
    rule = ((card.get("extension") or {}).get(RULE_EXTENSION) or {}).get("id")
    return topic, card.get("indicator", "?"), rule


def describe(topic: str, indicator: str, rule: str | None) -> str:
    return f"{topic}/{indicator}" + (f" [{rule}]" if rule else "")


def compare(
    expected: list[ExpectedCard], cards: list[dict[str, Any]], match: str, absent_topics: list[str]
) -> tuple[list[str], list[str]]:
    """(missing, unexpected) descriptions; both empty means the cards are what the scenario expects."""
    actual = [card_key(card) for card in cards]
    remaining = list(actual)
    missing: list[str] = []
    for card in expected:
        hit = next(
            (
                a
                for a in remaining
                if a[0] == card.topic and a[1] == card.indicator and (card.rule is None or a[2] == card.rule)
            ),
            None,
        )
        if hit is None:
            missing.append(describe(card.topic, card.indicator, card.rule))
        else:
            remaining.remove(hit)
    if match == "exact":
        unexpected = [describe(*a) for a in remaining]
    else:
        unexpected = [describe(*a) for a in remaining if a[0] in absent_topics]
    return missing, unexpected


def replay_one(
    record: PatientRecord,
    hook: str,
    base: str,
    service: Service | None,
    session: requests.Session,
    *,
    omit_prefetch: bool = False,
    timeout: float = 30.0,
) -> Outcome:
    scenario = record.scenario
    service_id = service.id if service else CONTRACT_SERVICES[hook]
    templates = service.prefetch if service else CONTRACT_PREFETCH
    body = build_request(record, hook, f"{base}/sandbox/fhir", templates, omit_prefetch=omit_prefetch)
    started = time.perf_counter()
    try:
        response = session.post(f"{base}/cds-services/{service_id}", json=body, timeout=timeout)
    except requests.RequestException as exc:
        return Outcome(scenario.name, hook, "ERROR", error=f"request failed: {exc}")
    millis = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        return Outcome(
            scenario.name,
            hook,
            "ERROR",
            error=f"HTTP {response.status_code}: {response.text[:300]}",
            millis=millis,
        )
    try:
        cards = response.json().get("cards", [])
    except ValueError:
        return Outcome(scenario.name, hook, "ERROR", error="response is not JSON", millis=millis)
    missing, unexpected = compare(scenario.expected_for(hook), cards, scenario.match, scenario.absent_topics)
    status = "PASS" if not missing and not unexpected else "FAIL"
    return Outcome(scenario.name, hook, status, cards, missing, unexpected, millis=millis)


class Progress:
    """A one-line progress bar on a terminal; silent when output is not a TTY."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        self.total = total
        self.stream = stream
        self.enabled = stream.isatty() and total > 1
        self.done = 0

    def step(self, label: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        width = max(10, min(40, shutil.get_terminal_size((80, 20)).columns - 40))
        filled = int(width * self.done / self.total)
        bar = "#" * filled + "." * (width - filled)
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} {label[:30]:<30}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 80 + "\r")
            self.stream.flush()


def run(
    records: list[PatientRecord],
    hooks: list[str],
    base: str,
    *,
    omit_prefetch: bool = False,
    progress_stream: IO[str] | None = None,
) -> list[Outcome]:
    base = base.rstrip("/")
    session = requests.Session()
    services = discover(base, session)
    progress = Progress(len(records) * len(hooks), progress_stream or sys.stderr)
    outcomes = []
    for record in records:
        for hook in hooks:
            outcomes.append(
                replay_one(record, hook, base, services.get(hook), session, omit_prefetch=omit_prefetch)
            )
            progress.step(record.scenario.name)
    progress.close()
    return outcomes


def table(outcomes: list[Outcome]) -> str:
    """A readable report: one block per scenario and hook, then what went wrong where it did."""
    rows = []
    for outcome in outcomes:
        if outcome.status == "ERROR":
            got = outcome.error
        elif not outcome.cards:
            got = "(no cards)"
        else:
            got = "; ".join(f"{describe(*card_key(c))} {c.get('summary', '')[:60]}" for c in outcome.cards)
        rows.append((outcome.scenario, outcome.hook, outcome.status, got))
    widths = [max(len(r[i]) for r in [("scenario", "hook", "result", "cards"), *rows]) for i in range(3)]
    lines = [f"{'scenario':<{widths[0]}}  {'hook':<{widths[1]}}  {'result':<{widths[2]}}  cards"]
    lines.append("-" * (sum(widths) + 6 + 40))
    lines.extend(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}" for r in rows)
    failures = [o for o in outcomes if o.status == "FAIL"]
    for outcome in failures:
        lines.append("")
        lines.append(f"{outcome.scenario} ({outcome.hook}): cards differ from the scenario")
        lines.extend(f"  - expected, not returned: {m}" for m in outcome.missing)
        lines.extend(f"  + returned, not expected: {u}" for u in outcome.unexpected)
    counts = Counter(o.status for o in outcomes)
    lines.append("")
    total = len(outcomes)
    lines.append(
        f"{counts['PASS']} of {total} runs got the expected cards; "
        f"{counts['FAIL']} differ, {counts['ERROR']} errors"
    )
    return "\n".join(lines)
