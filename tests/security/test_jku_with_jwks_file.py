"""An issuer configured with `jwks_file` only, called by a client that sends a `jku` on every token (as the
stock CDS Hooks Sandbox does): a token whose kid is in the file is verified with that key and its jku is
never fetched; any other kid behind a jku off the allowlist is a 401 that says what to configure.
Real ES384 and RS256 keys, a JWKS file on disk, real HTTP, and a loopback listener at the jku that
records whether anything reached it."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from plugin.app import create_app
from tests.conftest import LiveServer
from tests.security.conftest import (
    ORDER_SELECT,
    Recorder,
    Signer,
    es384_signer,
    full_prefetch,
    order_select_body,
    write_config,
)

ISS = "https://ehr.example.org"


def rs256_signer() -> Signer:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return Signer(key, str(uuid.uuid4()), "RS256", iss=ISS)


def es384() -> Signer:
    signer = es384_signer()
    signer.iss = ISS
    return signer


def config(tmp_path: Path, signers: list[Signer], extra_issuer: str = "", more: str = "") -> Path:
    keys = {"keys": [s.public_jwk() for s in signers]}
    (tmp_path / "ehr-jwks.json").write_text(json.dumps(keys))
    return write_config(
        tmp_path,
        f"""
[security]
require_jwt = true
[[security.issuers]]
iss = "{ISS}"
jwks_file = "ehr-jwks.json"
{extra_issuer}
{more}
[storage]
url = "sqlite:///{tmp_path / "f.db"}"
[audit]
log = "off"
""",
    )


@pytest.fixture
def file_keys() -> list[Signer]:
    return [es384(), rs256_signer()]


@pytest.fixture
def server(tmp_path: Path, serve, file_keys: list[Signer]) -> LiveServer:
    return serve(create_app(config_file=config(tmp_path, file_keys)))


@pytest.fixture
def jku_host(serve) -> tuple[Recorder, str]:
    """What the token's jku points at: it records every request and serves a key set nobody trusts."""
    recorder = Recorder(body=json.dumps(es384().jwks()).encode())
    host = serve(recorder)
    return recorder, f"{host.url}/.well-known/jwks.json"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("which", [0, 1], ids=["ES384", "RS256"])
def test_kid_in_the_file__accepted_whatever_the_jku_which_is_never_fetched(
    server: LiveServer, file_keys: list[Signer], jku_host: tuple[Recorder, str], which: int
) -> None:
    signer = file_keys[which]
    recorder, jku = jku_host
    discovery = f"{server.url}/cds-services"
    reply = requests.get(discovery, headers=bearer(signer.token(discovery, headers={"jku": jku})), timeout=10)
    assert reply.status_code == 200, reply.text

    call = f"{server.url}/cds-services/{ORDER_SELECT}"
    body = order_select_body(prefetch=full_prefetch())
    token = signer.token(call, headers={"jku": jku})
    reply = requests.post(call, json=body, headers=bearer(token), timeout=10)
    assert reply.status_code == 200, reply.text
    assert "cards" in reply.json()

    feedback = f"{call}/feedback"
    item = {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "2026-11-25T10:05:31Z"}
    reply = requests.post(
        feedback,
        json={"feedback": [item]},
        headers=bearer(signer.token(feedback, headers={"jku": jku})),
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    assert recorder.requests == []


def test_unknown_kid_behind_a_jku_off_the_allowlist__401_says_what_to_configure(
    server: LiveServer, jku_host: tuple[Recorder, str], caplog: pytest.LogCaptureFixture
) -> None:
    recorder, jku = jku_host
    rotated = es384()  # a key the issuer has moved to, not yet in the file
    url = f"{server.url}/cds-services"
    with caplog.at_level(logging.WARNING, logger="cpt_plugin.security"):
        reply = requests.get(url, headers=bearer(rotated.token(url, headers={"jku": jku})), timeout=10)
    assert reply.status_code == 401
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    error = reply.json()
    assert error["error"] == "unauthorized"
    wanted = [
        f"add {jku} to security.issuers[0].jku_allowlist",
        f"put the key with kid {rotated.kid} in security.issuers[0].jwks_file",
    ]
    for text in wanted:
        assert text in error["message"]
    refusals = [r.getMessage() for r in caplog.records if "refused (401)" in r.getMessage()]
    assert len(refusals) == 1
    for text in wanted:
        assert text in refusals[0]
    assert recorder.requests == []


def test_kid_in_the_file_but_signed_by_another_key__plain_401_and_nothing_fetched(
    server: LiveServer, file_keys: list[Signer], jku_host: tuple[Recorder, str]
) -> None:
    recorder, jku = jku_host
    forger = es384()
    forger.kid = file_keys[0].kid
    url = f"{server.url}/cds-services"
    reply = requests.get(url, headers=bearer(forger.token(url, headers={"jku": jku})), timeout=10)
    assert reply.status_code == 401
    assert reply.json() == {"error": "unauthorized", "message": "Authentication failed."}
    assert recorder.requests == []


def test_jku_that_is_not_a_string__refused(server: LiveServer, file_keys: list[Signer]) -> None:
    url = f"{server.url}/cds-services"
    token = file_keys[0].token(url, headers={"jku": ["https://a.example/jwks.json"]})
    assert requests.get(url, headers=bearer(token), timeout=10).status_code == 401


def test_remedy_echo__control_characters_and_length_bounded(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = es384()
    stranger.kid = "k\nforged log line " + "x" * 500
    url = f"{server.url}/cds-services"
    jku = "https://keys.example/jwks.json\r\nX-Injected: 1"
    with caplog.at_level(logging.WARNING, logger="cpt_plugin.security"):
        reply = requests.get(url, headers=bearer(stranger.token(url, headers={"jku": jku})), timeout=10)
    assert reply.status_code == 401
    message = reply.json()["message"]
    assert "\n" not in message and "\r" not in message
    assert "x" * 201 not in message
    assert all("\n" not in r.getMessage() for r in caplog.records if r.name == "cpt_plugin.security")


def test_start_up__one_line_for_a_jwks_file_issuer_without_allowlist(
    tmp_path: Path, file_keys: list[Signer], caplog: pytest.LogCaptureFixture
) -> None:
    other = es384()
    other.iss = "https://other.example.org"
    (tmp_path / "other.json").write_text(json.dumps(other.jwks()))
    more = f"""
[[security.issuers]]
iss = "{other.iss}"
jwks_file = "other.json"
jku_allowlist = ["https://other.example.org/jwks.json"]
"""
    with caplog.at_level(logging.INFO, logger="cpt_plugin.security"):
        create_app(config_file=config(tmp_path, file_keys, more=more))
    lines = [r.getMessage() for r in caplog.records if "jku_allowlist" in r.getMessage()]
    assert len(lines) == 1, lines
    (line,) = lines
    assert line.startswith(f"security.issuers[0] ({ISS}): keys from jwks_file ehr-jwks.json")
    assert all(s.kid in line for s in file_keys)
    assert "no jku is ever fetched" in line


def test_doubled_slash__token_for_the_url_as_called_accepted(
    server: LiveServer, file_keys: list[Signer]
) -> None:
    """The stock client joins "<discovery URL>/" and the id, and names that URL in `aud`."""
    signer = file_keys[0]
    body = order_select_body(prefetch=full_prefetch())
    single = f"{server.url}/cds-services/{ORDER_SELECT}"
    doubled = f"{server.url}/cds-services//{ORDER_SELECT}"
    for aud in (doubled, single):
        reply = requests.post(doubled, json=body, headers=bearer(signer.token(aud)), timeout=10)
        assert reply.status_code == 200, (aud, reply.text)
    # Feedback is answered by the Flask route, not the WSGI-level call: same rule.
    feedback = f"{doubled}//feedback"
    item = {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "2026-11-25T10:05:31Z"}
    reply = requests.post(
        feedback, json={"feedback": [item]}, headers=bearer(signer.token(feedback)), timeout=10
    )
    assert reply.status_code == 200, reply.text
    elsewhere = f"{server.url}/cds-services//another-service"
    reply = requests.post(doubled, json=body, headers=bearer(signer.token(elsewhere)), timeout=10)
    assert reply.status_code == 401
