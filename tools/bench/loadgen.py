"""An HTTP/1.1 load generator in pure Python: closed loop (saturation) and open loop (fixed rate).

It exists for machines without wrk and for the fixed-rate check, which wrk cannot do. Each client
process runs a `selectors` event loop over raw non-blocking sockets with pre-encoded requests, so
one process drives several connections with little CPU of its own.

Closed loop: every connection sends its next request as soon as the previous answer arrives;
latency is measured from the moment the request starts (connect included when the server closed
the previous connection, as gunicorn's sync workers do).

Open loop: requests are due on a fixed schedule (request k at start + k / rate) whether or not
earlier ones have been answered, and latency is measured from the time a request was due, not from
when it could be sent. A stalled server therefore shows up in the latency of every request that
had to wait (no coordinated omission).
"""

from __future__ import annotations

import errno
import math
import multiprocessing
import selectors
import socket
import struct
import time
from array import array
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

_HEADER_END = b"\r\n\r\n"
_TEN_SECONDS = struct.pack("ll", 10, 0)


def build_request(
    host: str,
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """Encode one HTTP/1.1 request (sent unchanged on every iteration)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "User-Agent: cpt-plugin-bench"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of already sorted values; NaN when there are none."""
    if not sorted_values:
        return math.nan
    if q <= 0:
        return float(sorted_values[0])
    rank = math.ceil(q / 100.0 * len(sorted_values))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


@dataclass
class LoadResult:
    """What one load run measured; latencies in milliseconds."""

    tool: str
    duration_s: float
    requests: int = 0
    errors: int = 0
    non_2xx: int = 0
    status_counts: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    target_rate: float | None = None
    # Set directly by tools that report percentiles rather than every sample (wrk).
    summary: dict[str, float] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        ok = self.requests - self.non_2xx
        return ok / self.duration_s if self.duration_s > 0 else 0.0

    def percentiles(self) -> dict[str, float]:
        if self.summary:
            return dict(self.summary)
        values = sorted(self.latencies_ms)
        return {
            "p50_ms": percentile(values, 50),
            "p90_ms": percentile(values, 90),
            "p99_ms": percentile(values, 99),
            "p999_ms": percentile(values, 99.9),
            "max_ms": values[-1] if values else math.nan,
            "mean_ms": (sum(values) / len(values)) if values else math.nan,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "duration_s": round(self.duration_s, 3),
            "requests": self.requests,
            "errors": self.errors,
            "non_2xx": self.non_2xx,
            "status_counts": {str(k): v for k, v in sorted(self.status_counts.items())},
            "rps": round(self.rps, 1),
            "target_rate": self.target_rate,
            **{k: round(v, 3) for k, v in self.percentiles().items()},
        }


class _Conn:
    """One client connection's state machine: connect -> write -> read -> (reuse or close)."""

    __slots__ = ("sock", "out", "buf", "started", "need", "header_len", "close", "status", "chunked")

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.out = memoryview(b"")
        self.buf = bytearray()
        self.started = 0.0
        self.need = -1
        self.header_len = -1
        self.close = False
        self.status = 0
        self.chunked = False


def _parse_head(conn: _Conn) -> bool:
    """Parse the status line and the headers we need once they are complete; False until then."""
    end = conn.buf.find(_HEADER_END)
    if end < 0:
        return False
    head = bytes(conn.buf[: end + 2]).lower()
    conn.status = int(head[9:12])
    conn.header_len = end + 4
    at = head.find(b"\r\ncontent-length:")
    conn.need = int(head[at + 17 : head.find(b"\r\n", at + 2)]) if at >= 0 else -1
    conn.close = head.startswith(b"http/1.0") or b"\r\nconnection: close\r\n" in head
    conn.chunked = b"\r\ntransfer-encoding: chunked\r\n" in head
    return True


def _response_complete(conn: _Conn, eof: bool) -> bool:
    if conn.header_len < 0 and not _parse_head(conn):
        return False
    body = len(conn.buf) - conn.header_len
    if conn.chunked:
        return conn.buf.endswith(b"0\r\n\r\n")
    if conn.need >= 0:
        return body >= conn.need
    return eof  # no length: the body ends when the server closes


def _open_client(
    host: str,
    port: int,
    request: bytes | list[bytes],
    start_at: float,
    duration: float,
    rate: float,
    max_in_flight: int,
    result_pipe: Any,
) -> None:
    """Open loop in one process: request k is due at start + k / rate; latency counts from then.

    `request` may be a list: request k sends the k-th of them (each a fresh token, say), in turn."""
    sel = selectors.DefaultSelector()
    pool = [request] if isinstance(request, bytes) else request
    issued = 0
    latencies = array("d")
    statuses: dict[int, int] = {}
    errors = 0
    end_at = start_at + duration
    idle: list[_Conn] = [_Conn() for _ in range(max_in_flight)]
    waiting: deque[float] = deque()  # due times of requests that found every connection busy
    next_due = start_at
    scheduled = 0
    interval = 1.0 / rate

    def begin(conn: _Conn, due: float) -> None:
        nonlocal errors, issued
        conn.started = due
        conn.out = memoryview(pool[issued % len(pool)])
        issued += 1
        conn.buf.clear()
        conn.header_len = -1
        if conn.sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            code = sock.connect_ex((host, port))
            if code not in (0, errno.EINPROGRESS):
                sock.close()
                errors += 1
                idle.append(conn)
                return
            conn.sock = sock
        sel.register(conn.sock, selectors.EVENT_WRITE, conn)

    def finish(conn: _Conn, ok: bool) -> None:
        nonlocal errors
        assert conn.sock is not None
        sel.unregister(conn.sock)
        if ok:
            latencies.append((time.monotonic() - conn.started) * 1000.0)
            statuses[conn.status] = statuses.get(conn.status, 0) + 1
        else:
            errors += 1
        if not ok or conn.close:
            conn.sock.close()
            conn.sock = None
        idle.append(conn)

    while time.monotonic() < start_at:
        time.sleep(min(0.01, max(0.0, start_at - time.monotonic())))

    while True:
        now = time.monotonic()
        while next_due <= now and next_due < end_at:
            waiting.append(next_due)
            scheduled += 1
            next_due = start_at + scheduled * interval  # no drift from adding up intervals
        while waiting and idle:
            begin(idle.pop(), waiting.popleft())
        in_flight = len(sel.get_map())
        if in_flight == 0 and not waiting and next_due >= end_at:
            break
        if now > end_at + 10.0:  # a server that stopped answering: what is left counts as errors
            for key in list(sel.get_map().values()):
                finish(key.data, False)
            errors += len(waiting)
            break
        timeout = 0.05 if waiting or next_due >= end_at else max(0.0, min(next_due - now, 0.05))
        for key, events in sel.select(timeout):
            conn: _Conn = key.data
            sock = conn.sock
            assert sock is not None
            try:
                if events & selectors.EVENT_WRITE:
                    sent = sock.send(conn.out)
                    conn.out = conn.out[sent:]
                    if not conn.out:
                        sel.modify(sock, selectors.EVENT_READ, conn)
                    continue
                chunk = sock.recv(262_144)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                finish(conn, False)
                continue
            if chunk:
                conn.buf += chunk
                if _response_complete(conn, eof=False):
                    finish(conn, True)
            else:
                finish(conn, _response_complete(conn, eof=True))
    for conn in idle:
        if conn.sock is not None:
            conn.sock.close()
    sel.close()
    result_pipe.send((len(latencies), errors, statuses, latencies.tobytes()))
    result_pipe.close()


def _read_response(sock: socket.socket, conn: _Conn) -> bool:
    """Read one whole response on a blocking socket; False if the connection broke first."""
    conn.buf.clear()
    conn.header_len = -1
    while True:
        chunk = sock.recv(262_144)
        if not chunk:
            return _response_complete(conn, eof=True)
        conn.buf += chunk
        if _response_complete(conn, eof=False):
            return True


def _closed_client(
    host: str, port: int, request: bytes, start_at: float, duration: float, result_pipe: Any
) -> None:
    """One blocking connection in a loop: the cheapest way for Python to keep a server saturated."""
    latencies = array("d")
    statuses: dict[int, int] = {}
    errors = 0
    end_at = start_at + duration
    conn = _Conn()
    sock: socket.socket | None = None
    address = (socket.gethostbyname(host), port)
    while time.monotonic() < start_at:
        time.sleep(min(0.01, max(0.0, start_at - time.monotonic())))
    now = time.monotonic()
    while now < end_at:
        began = now
        try:
            if sock is None:
                # No create_connection() (a getaddrinfo per request) and no settimeout() (a poll()
                # before every call): a kernel receive timeout guards against a hung server instead.
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _TEN_SECONDS)
                sock.connect(address)
            sock.sendall(request)
            ok = _read_response(sock, conn)
        except OSError:
            ok = False
        now = time.monotonic()
        if ok:
            if now <= end_at:
                latencies.append((now - began) * 1000.0)
                statuses[conn.status] = statuses.get(conn.status, 0) + 1
        else:
            errors += 1
        if (not ok or conn.close) and sock is not None:
            sock.close()
            sock = None
    if sock is not None:
        sock.close()
    result_pipe.send((len(latencies), errors, statuses, latencies.tobytes()))
    result_pipe.close()


def run_load(
    host: str,
    port: int,
    request: bytes | list[bytes],
    duration: float,
    connections: int = 8,
    processes: int = 2,
    rate: float | None = None,
    max_in_flight: int = 256,
) -> LoadResult:
    """Closed loop with `connections` (rate None) or open loop at `rate` requests per second.

    A list of requests (open loop only) is shared out between the processes, each sent once in turn."""
    if not isinstance(request, bytes) and rate is None:
        raise ValueError("a list of requests needs an open-loop run (a rate)")
    ctx = multiprocessing.get_context("spawn")
    processes = connections if rate is None else max(1, processes)
    start_at = time.monotonic() + 0.5 + 0.05 * processes  # after every process has started
    workers = []
    for index in range(processes):
        share = request if isinstance(request, bytes) else request[index::processes]
        receiver, sender = ctx.Pipe(duplex=False)
        if rate is None:
            target: Any = _closed_client
            args: tuple[Any, ...] = (host, port, share, start_at, duration, sender)
        else:
            target = _open_client
            args = (host, port, share, start_at, duration, rate / processes, max_in_flight, sender)
        proc = ctx.Process(target=target, args=args, daemon=True)
        proc.start()
        sender.close()
        workers.append((proc, receiver))
    result = LoadResult(tool="python", duration_s=duration, target_rate=rate)
    for proc, receiver in workers:
        try:
            count, errors, statuses, raw = receiver.recv()
        except EOFError as exc:
            raise RuntimeError(f"load client process {proc.pid} died (exit code {proc.exitcode})") from exc
        proc.join()
        samples = array("d")
        samples.frombytes(raw)
        result.requests += count
        result.errors += errors
        for status, n in statuses.items():
            result.status_counts[status] = result.status_counts.get(status, 0) + n
        result.latencies_ms.extend(samples)
    result.non_2xx = sum(n for status, n in result.status_counts.items() if not 200 <= status < 300)
    return result
