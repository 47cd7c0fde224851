"""The Python load generator counts what the server answered, over real HTTP on loopback."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tools.bench.loadgen import build_request, run_load


class CountingApp:
    """A WSGI app that counts requests per path; /missing answers 404, /stream is chunked."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        with self._lock:
            self.count += 1
        path = environ["PATH_INFO"]
        if path == "/missing":
            start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "2")])
            return [b"no"]
        if path == "/stream":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return iter([b"part one ", b"part two"])
        reply = b'{"received": %d}' % len(body)
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(reply)))])
        return [reply]


@pytest.fixture
def counting(serve) -> Iterator[tuple[CountingApp, Any]]:
    app = CountingApp()
    yield app, serve(app)


def test_open_loop__sends_the_scheduled_requests_and_counts_every_answer(counting) -> None:
    app, server = counting
    raw = build_request(
        "127.0.0.1", server.port, "POST", "/x", b'{"a": 1}', {"Content-Type": "application/json"}
    )
    result = run_load("127.0.0.1", server.port, raw, duration=1.0, rate=100, processes=1)
    assert 99 <= result.requests <= 101  # 100 per second for one second
    assert result.requests == app.count  # every request sent was answered and counted once
    assert result.errors == 0
    assert result.status_counts == {200: result.requests}
    assert len(result.latencies_ms) == result.requests
    assert result.target_rate == 100


def test_closed_loop__counts_match_the_server_within_the_requests_in_flight(counting) -> None:
    app, server = counting
    raw = build_request("127.0.0.1", server.port, "GET", "/x")
    result = run_load("127.0.0.1", server.port, raw, duration=1.0, connections=2)
    assert result.requests > 0
    assert result.errors == 0
    # A request still in flight when time is up is answered (counted by the server) but not reported.
    assert 0 <= app.count - result.requests <= 2
    assert result.rps == pytest.approx(result.requests / 1.0)


def test_closed_loop__non_2xx_answers_are_not_throughput(counting) -> None:
    _, server = counting
    raw = build_request("127.0.0.1", server.port, "GET", "/missing")
    result = run_load("127.0.0.1", server.port, raw, duration=0.5, connections=1)
    assert result.requests > 0
    assert result.non_2xx == result.requests
    assert result.rps == 0
    assert set(result.status_counts) == {404}


def test_closed_loop__reads_chunked_answers_to_the_end(counting) -> None:
    app, server = counting
    raw = build_request("127.0.0.1", server.port, "GET", "/stream")
    result = run_load("127.0.0.1", server.port, raw, duration=0.5, connections=1)
    assert result.requests > 1  # the connection moved on to a second request: the first one ended
    assert result.errors == 0
    assert 0 <= app.count - result.requests <= 1


def test_nothing_listening__every_attempt_is_an_error() -> None:
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago and has no listener
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    raw = build_request("127.0.0.1", port, "GET", "/")
    result = run_load("127.0.0.1", port, raw, duration=0.3, rate=50, processes=1)
    assert result.requests == 0
    assert result.errors > 0


def test_build_request__sets_host_and_length() -> None:
    raw = build_request("127.0.0.1", 8123, "POST", "/p?q=1", b"12345", {"Content-Type": "application/json"})
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"POST /p?q=1 HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:8123" in head
    assert b"\r\nContent-Length: 5" in head
    assert body == b"12345"


def test_open_loop__a_list_of_requests__each_sent_once_in_turn(serve) -> None:
    """What the JWT open-loop run needs: a fresh token per request, never one twice."""
    seen: list[str] = []
    lock = threading.Lock()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with lock:
            seen.append(environ.get("HTTP_X_TOKEN", ""))
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    server = serve(app)
    raws = [
        build_request("127.0.0.1", server.port, "GET", "/x", None, {"X-Token": f"t{i}"}) for i in range(150)
    ]
    result = run_load("127.0.0.1", server.port, raws, duration=1.0, rate=100, processes=2)
    assert 98 <= result.requests <= 102 and result.errors == 0
    assert len(seen) == len(set(seen)) == result.requests  # no value sent twice
    with pytest.raises(ValueError, match="open-loop"):
        run_load("127.0.0.1", server.port, raws, duration=1.0)
