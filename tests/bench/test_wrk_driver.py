"""wrk (when installed) is driven through its Lua hooks and its counts are read back."""

from __future__ import annotations

import shutil
import threading
from typing import Any

import pytest

from tools.bench.wrk import run_wrk

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)"
)


def test_wrk__posts_the_body_and_counts_what_the_server_answered(serve) -> None:
    seen: dict[str, Any] = {"count": 0, "bodies": set(), "types": set()}
    lock = threading.Lock()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        with lock:
            seen["count"] += 1
            seen["bodies"].add(body)
            seen["types"].add((environ["REQUEST_METHOD"], environ.get("CONTENT_TYPE")))
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    server = serve(app)
    result = run_wrk(
        f"{server.url}/p",
        "POST",
        b'{"k": "v"}',
        {"Content-Type": "application/json"},
        duration=1,
        connections=2,
    )
    assert result.requests > 0
    assert result.errors == 0 and result.non_2xx == 0
    assert 0 <= seen["count"] - result.requests <= 2
    assert seen["bodies"] == {b'{"k": "v"}'}
    assert seen["types"] == {("POST", "application/json")}
    assert 0 < result.percentiles()["p50_ms"] <= result.percentiles()["p99_ms"]


def test_wrk__rotated_header__each_request_sends_the_next_value(serve) -> None:
    """The JWT row's mechanism: a fresh token per request, never one value twice while any are left."""
    sent: list[str] = []
    lock = threading.Lock()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with lock:
            sent.append(environ.get("HTTP_AUTHORIZATION", ""))
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    server = serve(app)
    values = [f"token-{i}" for i in range(200_000)]
    result = run_wrk(
        f"{server.url}/p",
        "GET",
        None,
        {"Authorization": "Bearer fixed"},
        duration=1,
        connections=2,
        rotate=("Authorization", "Bearer ", values),
    )
    assert result.requests > 10 and result.non_2xx == 0
    assert len(sent) < len(values), "the test must not use up the values"
    assert len(set(sent)) == len(sent), "a value was sent twice"
    indices = sorted(int(s.removeprefix("Bearer token-")) for s in sent)
    # wrk builds one request at start-up that it never sends, so the first value may be skipped.
    assert indices[0] <= 1 and indices[-1] < len(sent) + 5, "values are taken in turn from the first"
