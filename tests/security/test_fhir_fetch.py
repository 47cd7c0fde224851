"""The fallback FHIR fetch over real HTTP: only the caller's allowed base, no redirects, the token
only there, and a bounded answer whatever the FHIR server does."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, g

from plugin.app import create_app
from plugin.security.fhir_fetch import FetchError, fetch_fhir
from tests.conftest import test_settings as base_settings
from tests.security.conftest import SANDBOX_JWKS, Recorder

ISS = "https://ehr.example.org"
PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1980-01-01"}


def app_for(tmp_path: Path, fhir_servers: list[str], **limits: float) -> Flask:
    settings = base_settings(tmp_path)
    settings["audit"] = {"log": "off"}
    settings["security"] = {
        "require_jwt": True,
        "issuers": [{"iss": ISS, "jwks_file": str(SANDBOX_JWKS), "fhir_servers": fhir_servers}],
    }
    settings["limits"] = {"fetch_timeout_seconds": 1.0, **limits}
    return create_app(settings)


def fetch(app: Flask, base: str, relative: str = "Patient/p1", **kwargs) -> dict | None:
    with app.test_request_context("/cds-services/x", method="POST"):
        g.cds_issuer = ISS
        return fetch_fhir(app, base, relative, **kwargs)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_allowed_base__resource_fetched_with_the_token(tmp_path: Path, serve) -> None:
    fhir = Recorder(body=json.dumps(PATIENT).encode(), content_type="application/fhir+json")
    server = serve(fhir)
    app = app_for(tmp_path, [f"{server.url}/fhir"])
    assert fetch(app, f"{server.url}/fhir", "Patient/p1", access_token="tok-123") == PATIENT
    assert fhir.requests == [{"path": "/fhir/Patient/p1", "query": "", "authorization": "Bearer tok-123"}]


def test_base_not_allowed_for_the_issuer__never_contacted(tmp_path: Path, serve) -> None:
    listener = Recorder(body=json.dumps(PATIENT).encode())
    server = serve(listener)
    app = app_for(tmp_path, ["http://127.0.0.1:9/fhir"])
    with pytest.raises(FetchError) as err:
        fetch(app, f"{server.url}/fhir", access_token="tok-123")
    assert err.value.kind == "not-allowed"
    assert listener.requests == []


def test_redirect_off_the_base__not_followed_and_token_not_forwarded(tmp_path: Path, serve) -> None:
    elsewhere = Recorder(body=json.dumps(PATIENT).encode())
    target = serve(elsewhere)

    def redirecting(environ, start_response):
        start_response("302 Found", [("Location", f"{target.url}/steal")])
        return [b""]

    base = serve(redirecting)
    app = app_for(tmp_path, [f"{base.url}/fhir"])
    with pytest.raises(FetchError) as err:
        fetch(app, f"{base.url}/fhir", access_token="tok-123")
    assert err.value.kind == "redirect"
    assert elsewhere.requests == []


@pytest.mark.parametrize(
    "relative",
    [
        "../admin",
        "Patient/..%2F..%2Fadmin",
        "http://169.254.169.254/latest",
        "//evil.example.org/x",
        "Patient/p1#x",
    ],
)
def test_query_leaving_the_base__refused_before_connecting(tmp_path: Path, serve, relative: str) -> None:
    listener = Recorder(body=json.dumps(PATIENT).encode())
    server = serve(listener)
    app = app_for(tmp_path, [f"{server.url}/fhir"])
    with pytest.raises(FetchError) as err:
        fetch(app, f"{server.url}/fhir", relative)
    assert err.value.kind == "bad-path"
    assert listener.requests == []


def test_environment_proxy__ignored(tmp_path: Path, serve, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = Recorder(body=b"{}")
    proxy_server = serve(proxy)
    fhir = Recorder(body=json.dumps(PATIENT).encode())
    server = serve(fhir)
    monkeypatch.setenv("HTTP_PROXY", proxy_server.url)
    monkeypatch.setenv("NO_PROXY", "")
    app = app_for(tmp_path, [f"{server.url}/fhir"])
    assert fetch(app, f"{server.url}/fhir") == PATIENT
    assert proxy.requests == []


def test_not_found__none(tmp_path: Path, serve) -> None:
    server = serve(Recorder(status=404, body=b'{"resourceType": "OperationOutcome"}'))
    app = app_for(tmp_path, [f"{server.url}/fhir"])
    assert fetch(app, f"{server.url}/fhir") is None


def test_connection_refused__refused(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{closed_port()}/fhir"
    app = app_for(tmp_path, [base])
    with pytest.raises(FetchError) as err:
        fetch(app, base)
    assert err.value.kind == "refused"


@pytest.mark.parametrize(
    ("recorder", "kind"),
    [
        (Recorder(status=500, body=b"boom"), "status"),
        (Recorder(body=b"<html>not json"), "invalid"),
        (Recorder(body=b"[1, 2, 3]"), "invalid"),
        (Recorder(body=b"x" * 300_000), "too-large"),
    ],
)
def test_broken_fhir_server__fetch_error(tmp_path: Path, serve, recorder: Recorder, kind: str) -> None:
    server = serve(recorder)
    app = app_for(tmp_path, [f"{server.url}/fhir"], fetch_max_bytes=100_000)
    with pytest.raises(FetchError) as err:
        fetch(app, f"{server.url}/fhir")
    assert err.value.kind == kind


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/fhir"
    sock.close()


def test_silent_server__timeout_within_the_bound(tmp_path: Path, silent_server: str) -> None:
    app = app_for(tmp_path, [silent_server], fetch_timeout_seconds=0.5)
    started = time.monotonic()
    with pytest.raises(FetchError) as err:
        fetch(app, silent_server)
    assert err.value.kind == "timeout"
    assert time.monotonic() - started < 1.5


def test_slow_drip_body__stopped_at_the_deadline(tmp_path: Path, serve) -> None:
    def drip(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])

        def body():
            yield b'{"resourceType": "Patient", "x": "'
            for _ in range(100):
                time.sleep(0.05)
                yield b"a"
            yield b'"}'

        return body()

    server = serve(drip)
    app = app_for(tmp_path, [f"{server.url}/fhir"], fetch_timeout_seconds=0.5)
    started = time.monotonic()
    with pytest.raises(FetchError) as err:
        fetch(app, f"{server.url}/fhir")
    assert err.value.kind == "timeout"
    assert time.monotonic() - started < 1.5


def test_shared_deadline_already_spent__no_connection(tmp_path: Path, serve) -> None:
    listener = Recorder(body=json.dumps(PATIENT).encode())
    server = serve(listener)
    app = app_for(tmp_path, [f"{server.url}/fhir"])
    with pytest.raises(FetchError) as err:
        fetch(app, f"{server.url}/fhir", deadline=time.monotonic() - 1)
    assert err.value.kind == "timeout"
    assert listener.requests == []


def test_slow_drip_with_content_length__stopped_at_the_deadline(tmp_path: Path) -> None:
    """A declared length makes buffered readers wait for the whole chunk; the deadline must still hold."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    stop = threading.Event()

    def drip() -> None:
        conn, _ = sock.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            )
            conn.sendall(b'{"resourceType": "Patient", "x": "')
            while not stop.is_set():
                try:
                    conn.sendall(b"a")
                except OSError:
                    return
                time.sleep(0.05)

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}/fhir"
    app = app_for(tmp_path, [base], fetch_timeout_seconds=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(FetchError) as err:
            fetch(app, base)
    finally:
        stop.set()
        sock.close()
    assert err.value.kind == "timeout"
    assert time.monotonic() - started < 1.5
