"""The audit trail of CDS Hooks calls: one JSON object per line in `[audit] log`, plus a row.

A line carries identifiers only (service, hookInstance, rule ids, status, latency, the caller's iss,
jti and tenant), never clinical text: the CDS adapter hands over the facts its handler returned, and
only their known identifier keys are copied, so a patient name in a request cannot reach the log.

Lines are written by a small sink, not through `logging`: a line per hook call through a Logger,
its handler lock, a Formatter and a LogRecord cost about as much as rendering a card. Each line is
one write of a complete line (O_APPEND for a file), so the lines of several workers appending to
one file do not interleave.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson
from flask import Flask

from plugin.config import resolve_path

EXTENSION_KEY = "audit_sink"
log = logging.getLogger("cpt_plugin.security")

_MAX_FIELD = 255


class AuditSink:
    """Where audit lines go: "stderr" / "stdout" (whatever sys.stderr / sys.stdout is at write time,
    since test runners swap them), "off", or a file opened for appending."""

    def __init__(self, destination: str, path: Path | None = None) -> None:
        self.destination = destination
        self.path = path
        self._fd: int | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def _file(self) -> int:
        # Reopened in a forked worker so every process holds its own descriptor.
        if self._fd is None or self._pid != os.getpid():
            assert self.path is not None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            self._pid = os.getpid()
        return self._fd

    def write(self, record: dict[str, Any]) -> None:
        if self.destination == "off":
            return
        line = orjson.dumps(record) + b"\n"
        if self.path is not None:
            with self._lock:
                os.write(self._file(), line)
            return
        stream = sys.stderr if self.destination == "stderr" else sys.stdout
        stream.write(line.decode())
        stream.flush()

    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None


def configure_audit_log(app: Flask) -> AuditSink:
    """Open the sink named by `[audit] log` for this app."""
    destination: str = app.config["PLUGIN"]["audit"]["log"]
    if destination in ("stderr", "stdout", "off"):
        sink = AuditSink(destination)
    else:
        sink = AuditSink("file", Path(resolve_path(app.config["PLUGIN"], destination)))
        sink._file()  # a path that cannot be opened stops start-up, not the first hook call
    app.extensions[EXTENSION_KEY] = sink
    return sink


# (second, "YYYY-MM-DDTHH:MM:SS.") of the last line: a line's time is that prefix plus milliseconds, so
# the date is formatted once a second rather than through a datetime on every hook call.
_second: tuple[int, str] = (-1, "")


def utc_millis() -> str:
    """Now, in UTC, as ISO 8601 with milliseconds and a Z (2026-01-31T23:59:59.123Z)."""
    global _second
    second, rest = divmod(time.time_ns(), 1_000_000_000)
    cached = _second
    if cached[0] != second:
        cached = _second = (second, time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second)))
    return f"{cached[1]}{rest // 1_000_000:03d}Z"


def _identifier(value: Any) -> str | None:
    return value[:_MAX_FIELD] if isinstance(value, str) else None


def note_request_ids(left: Any, body: Any) -> None:
    """Copy `hook` and `hookInstance` from a parsed request body into what the audit line is built from
    (the facts of the call), for a call refused before the pipeline recorded them itself.

    Only string values are taken (the body was not validated: anything else stays null), and an id
    the pipeline already recorded is kept."""
    if not isinstance(left, dict) or not isinstance(body, dict):
        return
    for key in ("hook", "hookInstance"):
        value = body.get(key)
        if isinstance(value, str) and left.get(key) is None:
            left[key] = value


def build_record(
    event: str,
    service_from_path: str,
    left: Any,
    status: int,
    latency_ms: float,
    token: Any,
) -> dict[str, Any]:
    """The audit line of one CDS call from what the handler left (`left`, the facts the handler returned)."""
    if not isinstance(left, dict):
        left = {}
    rules = left.get("rules")
    record: dict[str, Any] = {
        "ts": utc_millis(),
        "event": event,
        "service": _identifier(left.get("service")) or service_from_path[:_MAX_FIELD],
        "hook": _identifier(left.get("hook")),
        "hookInstance": _identifier(left.get("hookInstance")),
        "status": status,
        "rules": [r[:_MAX_FIELD] for r in rules if isinstance(r, str)] if isinstance(rules, list) else [],
        "latencyMs": round(latency_ms, 2),
        "iss": _identifier(token.iss) if token else None,
        "jti": _identifier(token.jti) if token else None,
        "tenant": _identifier(token.tenant) if token else None,
    }
    for count in ("cards", "feedbackItems"):
        if isinstance(left.get(count), int) and not isinstance(left.get(count), bool):
            record[count] = left[count]
    return record


def write_audit(app: Flask, record: dict[str, Any], issued: list[dict[str, Any]] | None = None) -> None:
    """Write the line, then store the row and the call's issued cards (`[{"uuid", "topic",
    "rule_id"}]`, kept for feedback reports even with `[audit] database = false`). A failing store
    is logged, never turned into a 500: the answer has been computed and goes out."""
    sink: AuditSink | None = app.extensions.get(EXTENSION_KEY)
    try:
        if sink is not None:
            sink.write(record)
    except OSError:
        log.exception("could not write the audit line for %s %s", record["event"], record["service"])
    store_row = app.config["PLUGIN"]["audit"]["database"]
    if not store_row and not issued:
        return
    from plugin.storage import get_store

    try:
        store = get_store(app)
        if store_row:
            store.record_call(
                record["service"],
                record["status"],
                hook_instance=record["hookInstance"],
                cards=issued or (),
                rules=record["rules"],
                latency_ms=record["latencyMs"],
                issuer=record["iss"],
                event=record["event"],
            )
        else:
            store.record_cards(record["service"], record["hookInstance"] or "", issued or [])
    except Exception:
        log.exception("could not store the audit row or cards of %s %s", record["event"], record["service"])
