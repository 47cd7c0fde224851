"""Time the rule engine (evaluate, then render) on the committed synthetic scenarios.

    .venv/bin/python tools/time_rule_engine.py [--rounds N] [--dump FILE]

Each scenario's request is built as the sandbox builds it (order-select and order-sign), its facts are
built afresh for every round (bindings cache per-request views on the facts), and only the two engine
stages are timed: `RuleSet.evaluate(facts)` and `render_response(findings, facts)`, in CPU time of
this process (other busy processes then count less). Prints the median microseconds per request of
each stage. A quick before/after check of an engine change, not a benchmark: the HTTP path is
measured by `make bench`. `--dump FILE` writes the first round's responses, so the answers before
and after a change can be compared (ids aside).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from plugin import clock
from plugin.app import create_app
from plugin.cds_hooks import prefetch
from plugin.cds_hooks.cards import render_response
from plugin.cds_hooks.facts import build_facts, build_orders
from plugin.config import PROJECT_ROOT
from plugin.sandbox.hookrequest import build_request
from plugin.sandbox.store import SandboxStore

HOOKS = ("order-select", "order-sign")
TODAY = dt.date(2026, 11, 25)


def requests(app: Any) -> list[tuple[Any, dict[str, Any], dict[str, Any]]]:
    """(service, body, resolved prefetch) for every scenario and hook."""
    cds = app.extensions["cds_hooks"]
    store = SandboxStore([("synthetic", PROJECT_ROOT / "fhir_bundles" / "synthetic")]).load()
    found = []
    for record in store.records.values():
        for hook in HOOKS:
            service = next(s for s in cds.catalog.services if s.hook == hook)
            body = build_request(record, hook, "http://127.0.0.1:9/fhir", None)
            with app.test_request_context():
                resolved = prefetch.resolve(app, body, service.prefetch)
            found.append((service, body, resolved))
    return found


def measure(rounds: int, dump: Path | None = None) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "storage": {"url": f"sqlite:///{Path(tmp) / 'feedback.db'}"},
                "security": {"require_jwt": False, "issuers": []},
            }
        )
        cds = app.extensions["cds_hooks"]
        calls = requests(app)
        evaluate_us: list[float] = []
        render_us: list[float] = []
        cards = 0
        answers: list[dict[str, Any]] = []
        for _ in range(rounds):
            evaluate_total = render_total = 0.0
            for service, body, resolved in calls:
                context = body["context"]
                orders = build_orders(service.hook, context, cds.tables, TODAY)
                facts = build_facts(
                    hook=service.hook,
                    service_id=service.id,
                    context=context,
                    prefetch=resolved.data,
                    prefetch_issues=resolved.issues,
                    tables=cds.tables,
                    base_url="http://127.0.0.1",
                    orders=orders,
                )
                start = time.process_time()
                findings = cds.rules.evaluate(facts)
                middle = time.process_time()
                response = render_response(findings, facts)
                end = time.process_time()
                evaluate_total += middle - start
                render_total += end - middle
                cards += len(response["cards"])
                if dump is not None:
                    answers.append(response)
            if dump is not None:
                dump.write_bytes(orjson.dumps(answers, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
                dump = None
            evaluate_us.append(evaluate_total * 1e6 / len(calls))
            render_us.append(render_total * 1e6 / len(calls))
        return statistics.median(evaluate_us), statistics.median(render_us), cards // rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--dump", type=Path, help="write the first round's responses here (to diff)")
    args = parser.parse_args()
    with clock.pinned(TODAY):
        evaluate_us, render_us, cards = measure(args.rounds, args.dump)
    print(f"requests per round: scenarios x {len(HOOKS)} hooks; cards per round: {cards}")
    print(f"evaluate: {evaluate_us:.1f} us/request (median of {args.rounds} rounds)")
    print(f"render:   {render_us:.1f} us/request")


if __name__ == "__main__":
    main()
