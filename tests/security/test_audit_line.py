"""Every CDS Hooks call leaves one JSON audit line (and a row): identifiers, rules fired, status and
latency, never clinical text. Checked over real HTTP with a patient whose name must not leak."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from plugin.app import create_app
from plugin.storage import get_store
from tests.security.conftest import (
    ORDER_SELECT,
    LiveServer,
    Signer,
    full_prefetch,
    order_select_body,
    rule_ids,
    write_config,
)

PATIENT_NAME = "Quixotewicz"
NOTE = "Cannulate via right femoral vein; family aware of risks"
AUDIT_KEYS = {
    "ts", "event", "service", "hook", "hookInstance", "status", "rules", "latencyMs", "iss", "jti", "tenant",
}  # fmt: skip


def audited_server(tmp_path: Path, signer: Signer) -> tuple[LiveServer, Path, object]:
    (tmp_path / "ehr.json").write_text(json.dumps(signer.jwks()))
    config = write_config(
        tmp_path,
        f"""
[security]
require_jwt = true
[[security.issuers]]
iss = "{signer.iss}"
jwks_file = "ehr.json"
[storage]
url = "sqlite:///{tmp_path / "f.db"}"
[audit]
log = "logs/audit.jsonl"
""",
    )
    app = create_app(config_file=config)
    return LiveServer(app).start(), tmp_path / "logs" / "audit.jsonl", app


def test_hook_call__one_json_line_with_identifiers_only(tmp_path: Path, signer: Signer) -> None:
    server, log, app = audited_server(tmp_path, signer)
    try:
        url = f"{server.url}/cds-services/{ORDER_SELECT}"
        # 3 years old on the date of service: 33952 draws the age advice, so a rule fires.
        body = order_select_body(prefetch=full_prefetch("2023-05-01", PATIENT_NAME), note=NOTE)
        response = requests.post(
            url, json=body, headers={"Authorization": f"Bearer {signer.token(url)}"}, timeout=10
        )
        assert response.status_code == 200, response.text
        fired = rule_ids(response.json())
        assert fired
        refused = requests.post(url, json=body, timeout=10)
        assert refused.status_code == 401
    finally:
        server.stop()

    lines = log.read_text().splitlines()
    assert len(lines) == 2
    served, rejected = (json.loads(line) for line in lines)
    assert set(served) >= AUDIT_KEYS
    assert served["event"] == "cds-hook-call"
    assert served["service"] == ORDER_SELECT
    assert served["hook"] == "order-select"
    assert served["hookInstance"] == body["hookInstance"]
    assert served["status"] == 200
    assert set(served["rules"]) == fired
    assert served["iss"] == signer.iss and served["jti"]
    assert isinstance(served["latencyMs"], float) and served["latencyMs"] > 0
    assert rejected["status"] == 401 and rejected["iss"] is None
    for line in lines:
        assert PATIENT_NAME not in line
        assert "2023-05-01" not in line
        assert "femoral" not in line

    rows = get_store(app).list_audit()
    assert [(r["service_id"], r["status"], r["hook_instance"]) for r in rows] == [
        (ORDER_SELECT, 200, body["hookInstance"]),
        (ORDER_SELECT, 401, None),
    ]
    assert set(rows[0]["rules"]) == fired


def test_feedback__audited_with_its_item_count(tmp_path: Path, signer: Signer) -> None:
    server, log, _app = audited_server(tmp_path, signer)
    try:
        url = f"{server.url}/cds-services/{ORDER_SELECT}/feedback"
        feedback = {
            "feedback": [
                {"card": "c-1", "outcome": "accepted", "acceptedSuggestions": [{"id": "s-1"}],
                 "outcomeTimestamp": "2026-11-25T10:00:00Z"},
                {"card": "c-2", "outcome": "overridden", "outcomeTimestamp": "2026-11-25T10:01:00Z"},
            ]
        }  # fmt: skip
        response = requests.post(
            url, json=feedback, headers={"Authorization": f"Bearer {signer.token(url)}"}, timeout=10
        )
        assert response.status_code == 200, response.text
    finally:
        server.stop()
    (line,) = (json.loads(x) for x in log.read_text().splitlines())
    assert line["event"] == "cds-feedback"
    assert line["feedbackItems"] == 2
    assert line["status"] == 200


def test_audit_timestamp__utc_with_milliseconds_at_pinned_instants(monkeypatch) -> None:
    """The line's `ts` is UTC ISO 8601 with milliseconds and a Z, the same text a datetime gives, also
    across a second, a day and a year boundary (the date part is kept per second)."""
    import datetime as dt

    from plugin.security import audit

    instants = [
        dt.datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=dt.UTC),
        dt.datetime(2024, 3, 1, 0, 0, 0, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 31, 23, 59, 59, 5_000, tzinfo=dt.UTC),
        dt.datetime(2027, 1, 1, 0, 0, 0, 250_000, tzinfo=dt.UTC),
        dt.datetime(2027, 1, 1, 0, 0, 0, 999_000, tzinfo=dt.UTC),
    ]
    for instant in instants:
        ns = int(instant.timestamp()) * 1_000_000_000 + instant.microsecond * 1_000
        monkeypatch.setattr(audit.time, "time_ns", lambda ns=ns: ns)
        expected = instant.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        assert audit.utc_millis() == expected
