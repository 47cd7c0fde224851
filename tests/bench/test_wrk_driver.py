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


def test_wrk__rotated_bodies__each_request_sends_the_next_body_with_its_length(serve) -> None:
    """The varied order-sign row's mechanism: the bodies in turn, each with its own Content-Length,
    and a rotated header alongside (both advance together)."""
    got: list[tuple[bytes, str]] = []
    lock = threading.Lock()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        with lock:
            got.append((body, environ.get("HTTP_X_N", "")))
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    server = serve(app)
    bodies = [b'{"n": %d, "pad": "%s"}' % (i, b"x" * i) for i in range(5)]
    result = run_wrk(
        f"{server.url}/p",
        "POST",
        bodies[0],
        {"Content-Type": "application/json"},
        duration=1,
        connections=1,
        rotate=("X-N", "", [str(i) for i in range(100_000)]),
        bodies=bodies,
    )
    assert result.requests > 10 and result.non_2xx == 0 and result.errors == 0
    assert {body for body, _ in got} == set(bodies), "every body was sent, whole"
    # One connection: the requests arrive in the order wrk built them (the first built may not be sent).
    numbers = [int(body.split(b",")[0].removeprefix(b'{"n": ')) for body, _ in got]
    start = numbers[0]
    assert numbers == [(start + i) % len(bodies) for i in range(len(numbers))]
    headers = [int(value) for _, value in got]
    assert [h % len(bodies) for h in headers] == numbers, "header and body advance together"


def test_wrk__a_body_of_more_than_one_line_is_refused() -> None:
    with pytest.raises(ValueError, match="one line"):
        run_wrk("http://127.0.0.1:9/p", "POST", b"{}", {}, duration=1, bodies=[b"{\n}"])
