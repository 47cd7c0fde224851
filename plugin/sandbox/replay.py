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
    auth: requests.auth.AuthBase | None = None,
) -> list[Outcome]:
    base = base.rstrip("/")
    session = requests.Session()
    session.auth = auth  # e.g. a JWT signer when the service requires one
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


# Width of the report when stdout is not a terminal (a pipe, a CI log): wide enough for most summaries.
DEFAULT_WIDTH = 120
# Below this many columns beside the others, cards go on their own indented lines under their run.
MIN_CARD_WIDTH = 80
STACKED_INDENT = 4
ELLIPSIS = "…"


def report_width() -> int:
    """The terminal's width (COLUMNS wins, as in shutil), else DEFAULT_WIDTH."""
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def truncate(text: str, width: int) -> str:
    """`text` on one line in at most `width` characters, cut at a word boundary with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    if width <= len(ELLIPSIS):
        return ELLIPSIS[:width]
    room = width - len(ELLIPSIS)
    cut = text[:room]
    if text[room] != " ":
        space = cut.rfind(" ")
        # A single word longer than half the room is cut inside it rather than dropped whole.
        if space >= room // 2:
            cut = cut[:space]
    return cut.rstrip(" ;,:-([") + ELLIPSIS


def _card_line(card: dict[str, Any]) -> str:
    return f"{describe(*card_key(card))} {card.get('summary', '')}".strip()


def table(outcomes: list[Outcome], width: int | None = None) -> str:
    """A readable report: one line per card beside its scenario and hook, then what went wrong.

    The cards column takes what the terminal leaves after the other columns; on a terminal too narrow
    for MIN_CARD_WIDTH there, each card goes on its own indented line under its run instead. Card
    lines are cut at a word boundary to fit; the differences and errors below the table never are.
    """
    width = width or report_width()
    rows: list[tuple[str, str, str, list[str]]] = []
    for outcome in outcomes:
        if outcome.status == "ERROR":
            lines = [f"error: {outcome.error}"]
        elif not outcome.cards:
            lines = ["(no cards)"]
        else:
            lines = [_card_line(card) for card in outcome.cards]
        rows.append((outcome.scenario, outcome.hook, outcome.status, lines))
    header = ("scenario", "hook", "result")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    indent = sum(widths) + 6
    stacked = width - indent < MIN_CARD_WIDTH

    def line(first: str, second: str, third: str, cards: str) -> str:
        return f"{first:<{widths[0]}}  {second:<{widths[1]}}  {third:<{widths[2]}}  {cards}".rstrip()

    body = []
    for scenario, hook, status, lines in rows:
        if stacked:
            room = max(width - STACKED_INDENT, 10)
            body.append(line(scenario, hook, status, ""))
            body.extend(" " * STACKED_INDENT + truncate(text, room) for text in lines)
        else:
            cut = [truncate(text, width - indent) for text in lines]
            body.append(line(scenario, hook, status, cut[0]))
            body.extend(line("", "", "", text) for text in cut[1:])
    longest = max((len(text) for text in body), default=indent)
    out = [line(*header, "" if stacked else "cards"), "-" * min(width, max(longest, indent + len("cards")))]
    out.extend(body)
    for outcome in outcomes:
        if outcome.status == "FAIL":
            out.append("")
            out.append(f"{outcome.scenario} ({outcome.hook}): cards differ from the scenario")
            out.extend(f"  - expected, not returned: {m}" for m in outcome.missing)
            out.extend(f"  + returned, not expected: {u}" for u in outcome.unexpected)
        elif outcome.status == "ERROR":
            out.append("")
            out.append(f"{outcome.scenario} ({outcome.hook}): {outcome.error}")
    counts = Counter(o.status for o in outcomes)
    out.append("")
    out.append(
        f"{counts['PASS']} of {len(outcomes)} runs got the expected cards; "
        f"{counts['FAIL']} differ, {counts['ERROR']} errors"
    )
    return "\n".join(out)
