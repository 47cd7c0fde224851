"""The audit trail of CDS Hooks calls: one JSON object per line on `cpt_plugin.audit`, plus a row.

A line carries identifiers only (service, hookInstance, rule ids, status, latency, the caller's iss,
jti and tenant), never clinical text: the CDS blueprint leaves `g.cds_audit` and only its known
identifier keys are copied, so a patient name in a request cannot reach the log.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from pathlib import Path
from typing import Any, TextIO

import orjson
from flask import Flask, Response, g, request

from plugin.config import resolve_path

AUDIT_LOGGER = "cpt_plugin.audit"
audit_log = logging.getLogger(AUDIT_LOGGER)
log = logging.getLogger("cpt_plugin.security")

_MAX_FIELD = 255
_HANDLER_MARK = "_cpt_plugin_audit_handler"


class _StandardStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr / sys.stdout is at emit time (test runners swap them)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self._name = name

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return getattr(sys, self._name)

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_audit_log(app: Flask) -> None:
    """Point `cpt_plugin.audit` at `[audit] log`. The logger is process-wide: the last app wins."""
    destination: str = app.config["PLUGIN"]["audit"]["log"]
    for handler in list(audit_log.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            audit_log.removeHandler(handler)
            handler.close()
    audit_log.setLevel(logging.INFO)
    # Lines are complete JSON objects; a root handler would prefix them with level and logger name.
    audit_log.propagate = False
    if destination == "off":
        return
    if destination in ("stderr", "stdout"):
        handler: logging.Handler = _StandardStreamHandler(destination)
    else:
        path = resolve_path(app.config["PLUGIN"], destination)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    setattr(handler, _HANDLER_MARK, True)
    audit_log.addHandler(handler)


def _identifier(value: Any) -> str | None:
    return value[:_MAX_FIELD] if isinstance(value, str) else None


def cds_call_kind(path: str) -> tuple[str, str] | None:
    """('cds-hook-call' | 'cds-feedback', service id) for a CDS Hooks call path, else None."""
    parts = path.strip("/").split("/")
    if len(parts) == 2 and parts[0] == "cds-services" and parts[1]:
        return "cds-hook-call", parts[1]
    if len(parts) == 3 and parts[0] == "cds-services" and parts[2] == "feedback" and parts[1]:
        return "cds-feedback", parts[1]
    return None


def audit_record(response: Response, latency_ms: float) -> dict[str, Any] | None:
    """The audit line for this request, or None when the request is not a CDS Hooks call."""
    if request.method != "POST":
        return None
    kind = cds_call_kind(request.path)
    if kind is None:
        return None
    event, service_from_path = kind
    left = g.get("cds_audit")
    if not isinstance(left, dict):
        left = {}
    rules = left.get("rules")
    token = g.get("cds_token")
    record: dict[str, Any] = {
        "ts": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "event": event,
        "service": _identifier(left.get("service")) or service_from_path[:_MAX_FIELD],
        "hook": _identifier(left.get("hook")),
        "hookInstance": _identifier(left.get("hookInstance")),
        "status": response.status_code,
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


def write_audit(app: Flask, record: dict[str, Any]) -> None:
    """Log the line, then store the row; a failing audit store is logged, never turned into a 500."""
    audit_log.info(orjson.dumps(record).decode())
    if not app.config["PLUGIN"]["audit"]["database"]:
        return
    from plugin.storage import get_store

    try:
        get_store(app).add_audit(
            record["service"],
            record["status"],
            hook_instance=record["hookInstance"],
            rules=record["rules"],
            latency_ms=record["latencyMs"],
            issuer=record["iss"],
            event=record["event"],
        )
    except Exception:
        log.exception("could not store the audit row for %s %s", record["event"], record["service"])
