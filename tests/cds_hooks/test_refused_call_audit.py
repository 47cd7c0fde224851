"""A refused service call is audited with the hook and hookInstance its body carried, as far as the body
parsed to a JSON object with string values there; over real HTTP, read back from the audit file."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from plugin.app import create_app
from tests.cds_hooks.conftest import cds_settings
from tests.cds_hooks.stubs import HOOK_INSTANCE, ORDER_SIGN, order_sign, service_request
from tests.conftest import LiveServer


@pytest.fixture
def audited(tmp_path: Path) -> Iterator[tuple[LiveServer, Path]]:
    log = tmp_path / "audit.jsonl"
    app = create_app(cds_settings(tmp_path, audit={"log": str(log)}))
    server = LiveServer(app).start()
    try:
        yield server, log
    finally:
        server.stop()


def post(server: LiveServer, data: bytes, content_type: str = "application/json") -> requests.Response:
    return requests.post(
        f"{server.url}/cds-services/{ORDER_SIGN}",
        data=data,
        headers={"Content-Type": content_type},
        timeout=10,
    )


def last_line(log: Path) -> dict[str, Any]:
    return json.loads(log.read_text().splitlines()[-1])


def valid() -> dict[str, Any]:
    return order_sign([service_request("sr-1", "33952")], payer="Aetna")


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("body", "status", "hook"),
    [
        # Parsed, then refused by the schema: no context.
        ({"hook": "order-sign", "hookInstance": HOOK_INSTANCE}, 400, "order-sign"),
        # The body's own hook, even when it is the wrong one for this service.
        ({**valid(), "hook": "order-select"}, 400, "order-select"),
    ],
)
def test_400_invalid_request__audited_with_the_body_s_ids(
    audited: tuple[LiveServer, Path], body: dict[str, Any], status: int, hook: str
) -> None:
    server, log = audited
    reply = post(server, json.dumps(body).encode())
    assert reply.status_code == status, reply.text
    line = last_line(log)
    assert (line["service"], line["status"]) == (ORDER_SIGN, status)
    assert (line["hook"], line["hookInstance"]) == (hook, HOOK_INSTANCE)


def test_415_with_a_json_body__audited_with_the_body_s_ids(audited: tuple[LiveServer, Path]) -> None:
    server, log = audited
    reply = post(server, json.dumps(valid()).encode(), "text/plain")
    assert reply.status_code == 415
    line = last_line(log)
    assert (line["status"], line["hook"], line["hookInstance"]) == (415, "order-sign", HOOK_INSTANCE)


def test_412_patient_unavailable__audited_with_the_body_s_ids(audited: tuple[LiveServer, Path]) -> None:
    server, log = audited
    base = f"http://127.0.0.1:{unused_port()}/fhir"  # nobody listens: the patient cannot be fetched
    body = order_sign([service_request("sr-1", "33952")], prefetch_data={}, fhir_server=base)
    reply = post(server, json.dumps(body).encode())
    assert reply.status_code == 412, reply.text
    line = last_line(log)
    assert (line["status"], line["hook"], line["hookInstance"]) == (412, "order-sign", HOOK_INSTANCE)


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b'{"hook": "order-sign", "hookInstance": ', "application/json", 400),  # cut short
        (b"not json at all", "text/plain", 415),
        (b'["order-sign", "d1577c69"]', "application/json", 400),  # JSON, not an object
        (json.dumps({"hook": ["order-sign"], "hookInstance": 42}).encode(), "application/json", 400),
        (json.dumps({"hook": {"x": 1}, "hookInstance": None}).encode(), "text/plain", 415),
    ],
)
def test_nothing_usable_parsed__ids_stay_null(
    audited: tuple[LiveServer, Path], data: bytes, content_type: str, status: int
) -> None:
    server, log = audited
    reply = post(server, data, content_type)
    assert reply.status_code == status, reply.text
    assert reply.headers["Content-Type"] == "application/json"
    line = last_line(log)
    assert (line["status"], line["hook"], line["hookInstance"]) == (status, None, None)


def test_long_ids__truncated_like_any_audited_identifier(audited: tuple[LiveServer, Path]) -> None:
    server, log = audited
    reply = post(server, json.dumps({"hook": "h" * 1000, "hookInstance": "i" * 1000}).encode())
    assert reply.status_code == 400
    line = last_line(log)
    assert (line["hook"], line["hookInstance"]) == ("h" * 255, "i" * 255)
