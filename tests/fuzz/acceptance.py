"""How much of what the OpenAPI document calls valid does the server accept?

Schemathesis generates positive requests (data the document says is valid) for every operation, the
app answers them in-process, and each answer is classed as schemathesis' own
`positive_data_acceptance` check classes it: *accepted* when the status is 2xx or 3xx, or one that
refuses the caller or names a missing resource rather than the request (401, 403, 404, 409, 429).
A 400, 405, 406, 415 or 422 to a request the document calls valid means the document promises what
the server does not take: an operation whose valid requests are mostly refused describes an API a
generated client could not use.

    python -m tests.fuzz.acceptance [--max-examples 30] [--seed 1]   # table per operation
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

# schemathesis' POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, without 5xx (never acceptable here).
ACCEPTED = {401, 403, 404, 409, 429}


@dataclass
class Tally:
    label: str
    documented: set[int]
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    @property
    def accepted(self) -> int:
        return sum(n for s, n in self.statuses.items() if 200 <= s < 400 or s in ACCEPTED)

    @property
    def rate(self) -> float:
        return self.accepted / self.total if self.total else 0.0


def _documented(operation: Any) -> set[int]:
    codes: set[int] = set()
    for key in operation.definition.raw.get("responses", {}):
        if str(key).isdigit():
            codes.add(int(key))
        elif str(key).upper().endswith("XX"):
            codes.update(range(int(str(key)[0]) * 100, int(str(key)[0]) * 100 + 100))
    return codes


def _counter(statuses: Counter[int]) -> Any:
    def run(case: Any) -> None:
        statuses[case.call().status_code] += 1

    return run


def measure(app: Flask, max_examples: int = 30, seed: int = 1, exclude: tuple[str, ...] = ()) -> list[Tally]:
    """Per operation: the statuses of `max_examples` positive generated requests."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    for path in exclude:
        schema = schema.exclude(path=path)
    tallies: list[Tally] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        tally = Tally(f"{operation.method.upper()} {operation.path}", _documented(operation))

        run = settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            derandomize=True,  # the same requests every run: a floor that does not flap
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )(
            given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))(
                _counter(tally.statuses)
            )
        )
        run()
        tallies.append(tally)
    return tallies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sandbox-static", action="store_true", help="include /sandbox/static")
    args = parser.parse_args(argv)
    from plugin.app import create_app

    logging.disable(logging.WARNING)
    folder = Path(tempfile.mkdtemp(prefix="cpt-plugin-acceptance-"))
    try:
        app = create_app(
            {
                "storage": {"url": f"sqlite:///{folder / 'feedback.db'}"},
                "security": {"require_jwt": False, "issuers": []},
                "audit": {"log": "off"},
            }
        )
        exclude = () if args.sandbox_static else ("/sandbox/static/{filename}",)
        tallies = measure(app, args.max_examples, args.seed, exclude)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    mostly = 0
    for t in sorted(tallies, key=lambda t: t.rate):
        # A status the operation does not document is marked with "!".
        statuses = " ".join(
            f"{s}{'' if s in t.documented else '!'}x{n}" for s, n in sorted(t.statuses.items())
        )
        print(f"{t.rate:6.0%}  {t.accepted:3d}/{t.total:<3d} {t.label:60s} {statuses}")
        mostly += t.rate > 0.5
    total = sum(t.total for t in tallies)
    accepted = sum(t.accepted for t in tallies)
    print(f"operations: {len(tallies)}; mostly accepted (>50%): {mostly}; accepted: {accepted}/{total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
