"""The CDS service's fallback FHIR fetch, end to end over real HTTP: it only ever reaches the FHIR
bases allowed for the calling issuer, never follows a redirect off them, and whatever the FHIR server
does (refuse, hang, 500, garbage, a huge body) the caller gets an answer within the bound: 412 when the
patient cannot be had, otherwise cards from what is known plus a data-quality card. Never a 500."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from plugin.app import create_app
from tests.security.conftest import (
    ORDER_SELECT,
    PATIENT_ID,
    LiveServer,
    Signer,
    empty_searchset,
    order_select_body,
    patient_resource,
    topics,
    write_config,
)

FETCH_TIMEOUT = 0.5
FETCH_TOTAL = 1.5
# Generous margin over the configured bound for a loaded CI machine; a hang would take far longer, and the
# slow stub (SLOW_SECONDS) answers only after the bound, so a fetch without its timeout fails the check.
ANSWER_BOUND = FETCH_TOTAL + 3.5
SLOW_SECONDS = ANSWER_BOUND + 1.0


@dataclass
class FhirStub:
    """A loopback FHIR server with a chosen behaviour, recording every request it gets."""

    mode: str = "ok"
    redirect_to: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        with self.lock:
            self.requests.append({"path": path, "authorization": environ.get("HTTP_AUTHORIZATION")})
        if self.mode == "status500":
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"database on fire"]
        if self.mode == "garbage":
            start_response("200 OK", [("Content-Type", "application/fhir+json")])
            return [b"<html><body>Login required</body></html>"]
        if self.mode == "huge":
            start_response("200 OK", [("Content-Type", "application/fhir+json")])
            return [b'{"resourceType": "Patient", "id": "' + b"x" * 300_000 + b'"}']
        if self.mode == "slow":
            time.sleep(SLOW_SECONDS)
        if self.mode == "drip":
            start_response(
                "200 OK", [("Content-Type", "application/fhir+json"), ("Content-Length", "100000")]
            )
            return self._drip()
        if self.mode in ("pages", "next-escape") and not path.endswith(f"/Patient/{PATIENT_ID}"):
            return self._page(environ, start_response, path)
        if self.mode == "redirect":
            start_response("302 Found", [("Location", self.redirect_to + path)])
            return [b""]
        start_response("200 OK", [("Content-Type", "application/fhir+json")])
        if path.endswith(f"/Patient/{PATIENT_ID}"):
            return [json.dumps(patient_resource()).encode()]
        return [json.dumps(empty_searchset()).encode()]

    def _drip(self) -> Iterator[bytes]:
        yield b'{"resourceType": "Bundle", "type": "searchset", "id": "'
        for _ in range(2000):
            time.sleep(0.05)
            yield b"x"

    def _page(self, environ: dict[str, Any], start_response: Callable[..., Any], path: str) -> list[bytes]:
        host = f"http://{environ['HTTP_HOST']}"
        if self.mode == "pages":
            time.sleep(0.45)  # each page just inside the per-fetch timeout
            following = f"{host}/fhir/Coverage?page={len(self.requests)}"
        else:
            following = f"{host}/fhir/../admin/export"
        bundle = {**empty_searchset(), "link": [{"relation": "next", "url": following}]}
        start_response("200 OK", [("Content-Type", "application/fhir+json")])
        return [json.dumps(bundle).encode()]


@pytest.fixture
def stubs() -> Iterator[Callable[[FhirStub], LiveServer]]:
    started: list[LiveServer] = []

    def start(stub: FhirStub) -> LiveServer:
        server = LiveServer(stub).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def closed_base() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/fhir"


def cds_server(tmp_path: Path, signer: Signer, fhir_servers: list[str]) -> LiveServer:
    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)
    (keys / "ehr.json").write_text(json.dumps(signer.jwks()))
    servers = ", ".join(f'"{s}"' for s in fhir_servers)
    config = write_config(
        tmp_path,
        f"""
[security]
require_jwt = true
[[security.issuers]]
iss = "{signer.iss}"
jwks_file = "keys/ehr.json"
fhir_servers = [{servers}]
[storage]
url = "sqlite:///{tmp_path / "f.db"}"
[limits]
fetch_timeout_seconds = {FETCH_TIMEOUT}
fetch_total_seconds = {FETCH_TOTAL}
fetch_max_bytes = 100000
[audit]
log = "off"
""",
    )
    return LiveServer(create_app(config_file=config)).start()


@pytest.fixture
def cds(tmp_path: Path, signer: Signer) -> Iterator[Callable[[list[str]], LiveServer]]:
    started: list[LiveServer] = []

    def start(fhir_servers: list[str]) -> LiveServer:
        server = cds_server(tmp_path, signer, fhir_servers)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def call(server: LiveServer, signer: Signer, body: dict[str, Any]) -> tuple[requests.Response, float]:
    url = f"{server.url}/cds-services/{ORDER_SELECT}"
    started = time.monotonic()
    response = requests.post(
        url, json=body, headers={"Authorization": f"Bearer {signer.token(url)}"}, timeout=30
    )
    return response, time.monotonic() - started


def test_fhir_server_not_allowed_for_the_issuer__never_reached(cds, stubs, signer: Signer) -> None:
    allowed = stubs(FhirStub())
    elsewhere_stub = FhirStub()
    elsewhere = stubs(elsewhere_stub)
    server = cds([f"{allowed.url}/fhir"])
    body = order_select_body(fhir_server=f"{elsewhere.url}/fhir", access_token="ehr-token")
    response, _ = call(server, signer, body)
    assert response.status_code == 412
    assert elsewhere_stub.requests == []


def test_allowed_fhir_server__missing_prefetch_fetched_with_the_token(cds, stubs, signer: Signer) -> None:
    stub = FhirStub()
    fhir = stubs(stub)
    server = cds([f"{fhir.url}/fhir"])
    response, _ = call(
        server, signer, order_select_body(fhir_server=f"{fhir.url}/fhir", access_token="ehr-token")
    )
    assert response.status_code == 200, response.text
    assert {r["path"] for r in stub.requests} >= {f"/fhir/Patient/{PATIENT_ID}", "/fhir/Coverage"}
    assert {r["authorization"] for r in stub.requests} == {"Bearer ehr-token"}


def test_redirect_off_the_base__not_followed(cds, stubs, signer: Signer) -> None:
    target_stub = FhirStub()
    target = stubs(target_stub)
    redirecting = stubs(FhirStub(mode="redirect", redirect_to=target.url))
    server = cds([f"{redirecting.url}/fhir"])
    body = order_select_body(fhir_server=f"{redirecting.url}/fhir", access_token="ehr-token")
    response, _ = call(server, signer, body)
    assert response.status_code == 412
    assert target_stub.requests == []


@pytest.mark.parametrize("patient_id", ["..", "../../admin", "..%2F..%2Fadmin", "x/../../../admin"])
def test_context_id_escaping_the_base__never_fetched_outside_it(
    cds, stubs, signer: Signer, patient_id: str
) -> None:
    stub = FhirStub()
    fhir = stubs(stub)
    server = cds([f"{fhir.url}/fhir"])
    body = order_select_body(fhir_server=f"{fhir.url}/fhir", access_token="t", patient_id=patient_id)
    response, _ = call(server, signer, body)
    assert response.status_code in (400, 412), response.text
    assert all(r["path"].startswith("/fhir/") and ".." not in r["path"] for r in stub.requests), stub.requests


FAULTS = ["refused", "slow", "drip", "status500", "garbage", "huge"]


def fault_base(stubs, fault: str) -> str:
    return closed_base() if fault == "refused" else f"{stubs(FhirStub(mode=fault)).url}/fhir"


@pytest.mark.parametrize("fault", FAULTS)
def test_broken_fhir_server_and_no_patient_prefetched__412_in_time(
    cds, stubs, signer: Signer, fault: str
) -> None:
    base = fault_base(stubs, fault)
    server = cds([base])
    response, elapsed = call(server, signer, order_select_body(fhir_server=base, access_token="t"))
    assert response.status_code == 412, response.text
    body = response.json()
    assert body["error"] == "precondition-failed"
    assert body["outcome"]["resourceType"] == "OperationOutcome"
    assert elapsed < ANSWER_BOUND


@pytest.mark.parametrize("fault", FAULTS)
def test_broken_fhir_server_with_patient_prefetched__cards_and_data_quality(
    cds, stubs, signer: Signer, fault: str
) -> None:
    base = fault_base(stubs, fault)
    server = cds([base])
    # The patient is prefetched (and is 3 on the date of service, so 33952 draws age advice);
    # coverage, conditions and consents must come from the broken server.
    body = order_select_body(
        fhir_server=base, access_token="t", prefetch={"patient": patient_resource("2023-05-01")}
    )
    response, elapsed = call(server, signer, body)
    assert response.status_code == 200, response.text
    found = topics(response.json())
    assert "data-quality" in found
    assert "age-criteria" in found
    assert elapsed < ANSWER_BOUND


def test_next_link_with_dot_segments__not_followed(cds, stubs, signer: Signer) -> None:
    stub = FhirStub(mode="next-escape")
    fhir = stubs(stub)
    server = cds([f"{fhir.url}/fhir"])
    body = order_select_body(fhir_server=f"{fhir.url}/fhir", access_token="t")
    response, _ = call(server, signer, body)
    assert response.status_code == 200, response.text
    assert not [r for r in stub.requests if "admin" in r["path"]]


def test_slow_pages__all_fetches_of_a_call_share_one_deadline(cds, stubs, signer: Signer) -> None:
    """Five pages, each just inside the per-fetch timeout, would take 2.25 s; the call's bound is 1.5 s."""
    fhir = stubs(FhirStub(mode="pages"))
    server = cds([f"{fhir.url}/fhir"])
    body = order_select_body(
        fhir_server=f"{fhir.url}/fhir", access_token="t", prefetch={"patient": patient_resource()}
    )
    response, elapsed = call(server, signer, body)
    assert response.status_code == 200, response.text
    assert elapsed < FETCH_TOTAL + 0.6
