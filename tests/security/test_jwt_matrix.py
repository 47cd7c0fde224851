"""CDS Hooks 2.0 client JWTs over real HTTP: every bad token is a 401 with no detail, on discovery,
service and feedback calls alike; a good one gets through, once."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization

from tests.security.conftest import (
    Recorder,
    Signer,
    es384_signer,
    hmac_token,
    unsigned_token,
)

SERVICE = "ecmo-cannulation-order-select"


def order_select_request() -> dict[str, Any]:
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1980-02-01", "gender": "female"}
    order = {
        "resourceType": "ServiceRequest",
        "id": "sr1",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "33952"}]},
    }
    return {
        "hook": "order-select",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/u1",
            "patientId": "p1",
            "selections": ["ServiceRequest/sr1"],
            "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": order}]},
        },
        "prefetch": {
            "patient": patient,
            "coverage": {"resourceType": "Bundle", "type": "searchset", "entry": []},
            "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": []},
            "consents": {"resourceType": "Bundle", "type": "searchset", "entry": []},
        },
    }


def feedback_request() -> dict[str, Any]:
    return {
        "feedback": [
            {
                "card": str(uuid.uuid4()),
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-25T10:05:31Z",
            }
        ]
    }


ENDPOINTS = {
    "discovery": ("GET", "/cds-services", None),
    "service": ("POST", f"/cds-services/{SERVICE}", order_select_request),
    "feedback": ("POST", f"/cds-services/{SERVICE}/feedback", feedback_request),
}


def call(
    base: str, endpoint: str, token: str | None, *, authorization: str | None = None
) -> requests.Response:
    method, path, body = ENDPOINTS[endpoint]
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, base + path, json=body() if body else None, headers=headers, timeout=10)


def aud_for(base: str, endpoint: str) -> str:
    return base + ENDPOINTS[endpoint][1]


def _public_pem(signer: Signer) -> bytes:
    return signer.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# Each case: (signer, aud) -> (token, authorization header override)
BadToken = Callable[[Signer, str], tuple[str | None, str | None]]

BAD_TOKENS: dict[str, BadToken] = {
    "missing token": lambda s, aud: (None, None),
    "not a bearer scheme": lambda s, aud: (None, "Basic dXNlcjpwYXNz"),
    "malformed token": lambda s, aud: ("not.a.jwt", None),
    "garbage bearer": lambda s, aud: ("%%%", None),
    "alg none": lambda s, aud: (
        unsigned_token({"alg": "none", "typ": "JWT", "kid": s.kid}, s.claims(aud)),
        None,
    ),
    "alg None mixed case": lambda s, aud: (
        unsigned_token({"alg": "None", "typ": "JWT", "kid": s.kid}, s.claims(aud)),
        None,
    ),
    "HS256 signed with the public key": lambda s, aud: (
        hmac_token({"alg": "HS256", "typ": "JWT", "kid": s.kid}, s.claims(aud), _public_pem(s)),
        None,
    ),
    "unknown kid": lambda s, aud: (s.token(aud, headers={"kid": "no-such-kid"}), None),
    "no kid": lambda s, aud: (
        s.token(aud, headers={"kid": None}),
        None,
    ),
    "wrong key": lambda s, aud: (Signer(es384_signer().private_key, s.kid, "ES384").token(aud), None),
    "algorithm not matching the key": lambda s, aud: (_es256_with_kid(s, aud), None),
    "expired": lambda s, aud: (s.token(aud, exp=int(time.time()) - 600, iat=int(time.time()) - 900), None),
    "iat in the future": lambda s, aud: (
        s.token(aud, iat=int(time.time()) + 600, exp=int(time.time()) + 900),
        None,
    ),
    "no exp": lambda s, aud: (s.token(aud, exp=None), None),
    "no jti": lambda s, aud: (s.token(aud, jti=None), None),
    "lifetime above the maximum": lambda s, aud: (s.token(aud, exp=int(time.time()) + 7200), None),
    "wrong aud": lambda s, aud: (s.token(aud + "-other"), None),
    "aud of another endpoint": lambda s, aud: (s.token(aud.rsplit("/cds-services", 1)[0] + "/fhir"), None),
    "untrusted iss": lambda s, aud: (s.token(aud, iss="https://evil.example.org"), None),
    "typ not JWT": lambda s, aud: (s.token(aud, headers={"typ": "at+jwt"}), None),
}


def _es256_with_kid(s: Signer, aud: str) -> str:
    """A P-256 key's ES256 signature presented under the issuer's ES384 kid."""
    from cryptography.hazmat.primitives.asymmetric import ec

    return Signer(ec.generate_private_key(ec.SECP256R1()), s.kid, "ES256").token(aud)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_bad_token__401_without_detail(secure_server, signer: Signer, endpoint: str, case: str) -> None:
    token, authorization = BAD_TOKENS[case](signer, aud_for(secure_server.url, endpoint))
    response = call(secure_server.url, endpoint, token, authorization=authorization)
    assert response.status_code == 401, response.text
    # The same body whatever went wrong: the reason is for the server log only.
    assert response.json() == {"error": "unauthorized", "message": "Authentication failed."}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_valid_sandbox_issuer_token__accepted(secure_server, signer: Signer, endpoint: str) -> None:
    response = call(secure_server.url, endpoint, signer.token(aud_for(secure_server.url, endpoint)))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_replayed_jti__401_the_second_time(secure_server, signer: Signer, endpoint: str) -> None:
    token = signer.token(aud_for(secure_server.url, endpoint))
    assert call(secure_server.url, endpoint, token).status_code == 200
    replay = call(secure_server.url, endpoint, token)
    assert replay.status_code == 401
    assert replay.json() == {"error": "unauthorized", "message": "Authentication failed."}


def test_same_jti_from_another_issuer__not_a_replay(
    secure_app_factory, serve, signer: Signer, tmp_path
) -> None:
    other = es384_signer()
    other.iss = "https://ehr.example.org"
    (tmp_path / "keys").mkdir(exist_ok=True)
    (tmp_path / "keys" / "other.json").write_text(json.dumps(other.jwks()))
    server = serve(
        secure_app_factory(
            extra=f'[[security.issuers]]\niss = "{other.iss}"\njwks_file = "keys/other.json"\n'
        )
    )
    aud = aud_for(server.url, "discovery")
    assert call(server.url, "discovery", signer.token(aud, jti="shared-jti")).status_code == 200
    assert call(server.url, "discovery", other.token(aud, jti="shared-jti")).status_code == 200


def test_jku_off_the_allowlist__401_and_never_fetched(secure_server, signer: Signer, serve) -> None:
    attacker = es384_signer()
    listener = Recorder(body=json.dumps(attacker.jwks()).encode())
    jwks_host = serve(listener)
    aud = aud_for(secure_server.url, "discovery")
    token = attacker.token(aud, headers={"jku": f"{jwks_host.url}/jwks.json"})
    response = call(secure_server.url, "discovery", token)
    assert response.status_code == 401
    assert listener.requests == []


def test_rejection_reason__in_the_log_not_the_body(secure_server, signer: Signer, caplog) -> None:
    aud = aud_for(secure_server.url, "discovery")
    with caplog.at_level("WARNING", logger="cpt_plugin.security"):
        response = call(secure_server.url, "discovery", signer.token(aud, iss="https://evil.example.org"))
    assert response.status_code == 401
    assert "evil" not in response.text
    reasons = [r.getMessage() for r in caplog.records if r.name == "cpt_plugin.security"]
    assert any("issuer is not trusted" in m and "https://evil.example.org" in m for m in reasons)
    token = signer.token(aud)
    assert all(token not in m for m in reasons)


def test_cross_origin_preflight__needs_no_token(secure_server) -> None:
    response = requests.options(
        f"{secure_server.url}/cds-services/{SERVICE}",
        headers={
            "Origin": "https://sandbox.cds-hooks.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
        timeout=5,
    )
    assert response.status_code == 204


def test_issuer_with_tenants__only_listed_tenant_accepted(secure_app_factory, serve, signer: Signer) -> None:
    server = serve(secure_app_factory(extra_issuer='tenants = ["main-campus"]'))
    aud = aud_for(server.url, "discovery")
    assert call(server.url, "discovery", signer.token(aud, tenant="main-campus")).status_code == 200
    assert call(server.url, "discovery", signer.token(aud, tenant="other-campus")).status_code == 401
    assert call(server.url, "discovery", signer.token(aud)).status_code == 401


def test_public_base_url__aud_must_name_the_public_url(secure_app_factory, serve, signer: Signer) -> None:
    """Behind a proxy the app sees its own address; the EHR signs the address it called."""
    server = serve(secure_app_factory(extra='[server]\npublic_base_url = "https://cds.example.org/cpt"\n'))
    public = "https://cds.example.org/cpt/cds-services"
    assert call(server.url, "discovery", signer.token(public)).status_code == 200
    assert call(server.url, "discovery", signer.token(aud_for(server.url, "discovery"))).status_code == 401
    # A token minted for another service, presented with that service's Host header, is refused.
    stolen = signer.token("http://other-service.example.org/cds-services")
    response = requests.get(
        f"{server.url}/cds-services",
        headers={"Authorization": f"Bearer {stolen}", "Host": "other-service.example.org"},
        timeout=5,
    )
    assert response.status_code == 401


def test_jwt_optional_with_issuers__anonymous_served_bad_token_refused(
    secure_app_factory, serve, signer: Signer
) -> None:
    server = serve(secure_app_factory(require_jwt=False))
    assert call(server.url, "discovery", None).status_code == 200
    assert call(server.url, "discovery", "not.a.jwt").status_code == 401
    aud = aud_for(server.url, "discovery")
    assert call(server.url, "discovery", signer.token(aud)).status_code == 200


def test_audience_follows_each_request_host_and_path(secure_app_factory, serve, signer: Signer) -> None:
    """The URL a token must name is worked out per request (and remembered per host and path): a
    request with another Host header or to another service never inherits an earlier answer."""
    server = serve(secure_app_factory())
    service_aud = aud_for(server.url, "service")
    for _ in range(2):  # the second time from the remembered answer
        assert call(server.url, "service", signer.token(service_aud)).status_code == 200
    other_host = requests.post(
        f"{server.url}{ENDPOINTS['service'][1]}",
        json=order_select_request(),
        headers={"Authorization": f"Bearer {signer.token(service_aud)}", "Host": "elsewhere.example.org"},
        timeout=10,
    )
    assert other_host.status_code == 401
    elsewhere = "http://elsewhere.example.org" + ENDPOINTS["service"][1]
    accepted = requests.post(
        f"{server.url}{ENDPOINTS['service'][1]}",
        json=order_select_request(),
        headers={"Authorization": f"Bearer {signer.token(elsewhere)}", "Host": "elsewhere.example.org"},
        timeout=10,
    )
    assert accepted.status_code == 200
    # Another path: the service's token does not open the feedback endpoint.
    assert call(server.url, "feedback", signer.token(service_aud)).status_code == 401
