"""Profile one endpoint in-process: the app the benchmark serves, driven by Flask's test client.

No HTTP and no gunicorn here, so what pyinstrument shows is our code's cost per request (plus the
test client's own, which the floor app measured the same way puts into proportion).

    cpt-plugin bench --profile order-sign --profile-requests 3000
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flask import Flask

from tools.bench import content, scenarios
from tools.bench.scenarios import Endpoint


def _call(client: Any, endpoint: Endpoint) -> Any:
    return client.open(endpoint.path, method=endpoint.method, data=endpoint.body, headers=endpoint.headers)


def per_request_ms(app: Flask, endpoint: Endpoint, requests: int) -> float:
    client = app.test_client()
    for _ in range(min(100, requests)):
        _call(client, endpoint)
    started = time.perf_counter()
    for _ in range(requests):
        _call(client, endpoint)
    return 1000 * (time.perf_counter() - started) / requests


def profile(app: Flask, endpoint: Endpoint, requests: int, html: Path | None = None) -> tuple[str, float]:
    """pyinstrument's call tree for `requests` calls, and the mean wall time per call in ms."""
    from pyinstrument import Profiler

    client = app.test_client()
    response = _call(client, endpoint)
    problem = endpoint.check(response.status_code, response.data) if endpoint.check else None
    if problem:
        raise RuntimeError(f"{endpoint.name}: {problem}")
    for _ in range(min(100, requests)):
        _call(client, endpoint)
    profiler = Profiler(interval=0.0002)
    started = time.perf_counter()
    profiler.start()
    for _ in range(requests):
        _call(client, endpoint)
    profiler.stop()
    elapsed = time.perf_counter() - started
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(profiler.output_html())
    return profiler.output_text(unicode=False, color=False, show_all=False), 1000 * elapsed / requests


def endpoints_by_name(family_valueset: str) -> dict[str, Endpoint]:
    found = {e.name: e for e in scenarios.main_endpoints(family_valueset)}
    for size in (1_000, 10_000, 100_000):
        found.update({e.name: e for e in scenarios.scaling_endpoints(size, content.probe_code(size))})
    found.update({e.name: e for e in scenarios.hook_scaling_endpoints([1, 10, 100, 500])})
    found.update({e.name: e for e in scenarios.icd10cm_endpoints()})
    return found
