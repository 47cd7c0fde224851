"""Keys, tokens and servers for the security tests: real ES384/RS384 keys, a real TOML config file,
the real app over real HTTP on loopback, and listeners that record whether anything reached them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from plugin.app import create_app
from tests.conftest import LiveServer

# The public JWKS of the public CDS Hooks Sandbox (cds-hooks/sandbox, Apache-2.0), shipped with the code.
SANDBOX_JWKS = Path(__file__).resolve().parents[2] / "plugin" / "security" / "jwks" / "cds-hooks-sandbox.json"
SANDBOX_ISS = "https://sandbox.cds-hooks.org"
SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Signer:
    """An issuer's private key; mints CDS Hooks client JWTs the way an EHR does."""

    private_key: Any
    kid: str
    alg: str
    iss: str = SANDBOX_ISS

    def public_jwk(self) -> dict[str, Any]:
        algorithm = ECAlgorithm if self.alg.startswith("ES") else RSAAlgorithm
        jwk = algorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.alg}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk()]}

    def claims(self, aud: str, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": self.iss, "aud": aud, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, aud: str, *, headers: dict[str, Any] | None = None, **claims: Any) -> str:
        header = {"typ": "JWT", "kid": self.kid, **(headers or {})}
        header = {k: v for k, v in header.items() if v is not None}
        return jwt.encode(self.claims(aud, **claims), self.private_key, algorithm=self.alg, headers=header)


def es384_signer(kid: str | None = None) -> Signer:
    return Signer(ec.generate_private_key(ec.SECP384R1()), kid or str(uuid.uuid4()), "ES384")


def rs384_signer(kid: str | None = None) -> Signer:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return Signer(key, kid or str(uuid.uuid4()), "RS384")


def unsigned_token(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(claims).encode())
    return f"{head}.{body}.{b64url(signature)}"


def hmac_token(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """HS256 by hand: PyJWT itself refuses a PEM public key as an HMAC secret."""
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(signature)}"


@pytest.fixture(scope="session")
def signer() -> Signer:
    """The EHR key standing in for the sandbox's private key (which nobody outside it has)."""
    return es384_signer()


@dataclass
class Recorder:
    """A loopback HTTP listener that answers with a fixed body and remembers every request."""

    body: bytes = b"{}"
    status: int = 200
    content_type: str = "application/json"
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self.lock:
            self.requests.append(
                {
                    "path": environ.get("PATH_INFO"),
                    "query": environ.get("QUERY_STRING"),
                    "authorization": environ.get("HTTP_AUTHORIZATION"),
                }
            )
        start_response(f"{self.status} X", [("Content-Type", self.content_type)])
        return [self.body]


def write_config(directory: Path, text: str) -> Path:
    config = directory / "plugin.toml"
    config.write_text(text)
    return config


def secure_config_text(
    tmp_path: Path, *, jwks_file: str, extra_issuer: str = "", extra: str = "", require_jwt: bool = True
) -> str:
    return f"""
[security]
require_jwt = {str(require_jwt).lower()}

[[security.issuers]]
iss = "{SANDBOX_ISS}"
jwks_file = "{jwks_file}"
fhir_servers = ["http://127.0.0.1:9/fhir"]
{extra_issuer}

[storage]
url = "sqlite:///{tmp_path / "feedback.db"}"

[audit]
log = "{tmp_path / "audit.log"}"
{extra}
"""


def build_secure_app(
    directory: Path, signer: Signer, *, extra_issuer: str = "", extra: str = "", require_jwt: bool = True
) -> Any:
    """The real app from a real TOML file whose issuer (the sandbox's iss) trusts `signer` via jwks_file."""
    keys = directory / "keys"
    keys.mkdir(exist_ok=True)
    (keys / "ehr-jwks.json").write_text(json.dumps(signer.jwks()))
    text = secure_config_text(
        directory,
        jwks_file="keys/ehr-jwks.json",
        extra_issuer=extra_issuer,
        extra=extra,
        require_jwt=require_jwt,
    )
    app = create_app(config_file=write_config(directory, text))
    app.config["TESTING"] = True
    return app


@pytest.fixture
def secure_app_factory(tmp_path: Path, signer: Signer) -> Callable[..., Any]:
    def build(extra_issuer: str = "", extra: str = "", require_jwt: bool = True) -> Any:
        return build_secure_app(
            tmp_path, signer, extra_issuer=extra_issuer, extra=extra, require_jwt=require_jwt
        )

    return build


@pytest.fixture(scope="module")
def secure_server(tmp_path_factory: pytest.TempPathFactory, signer: Signer) -> Iterator[LiveServer]:
    """One JWT-requiring server per test module (every token has its own jti, so tests don't clash)."""
    server = LiveServer(build_secure_app(tmp_path_factory.mktemp("secure"), signer)).start()
    yield server
    server.stop()


# --------------------------------------------------------------------------------------------------
# CDS Hooks requests, built here from the contract (CDS-CONTRACT.md, cds_hooks/services.json).

CPT = "http://www.ama-assn.org/go/cpt"
ORDER_SELECT = "ecmo-cannulation-order-select"
PATIENT_ID = "pat-trust-1"


def patient_resource(birth_date: str = "1980-02-01", name: str = "Example") -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": PATIENT_ID,
        "name": [{"family": name, "given": ["Pat"]}],
        "gender": "female",
        "birthDate": birth_date,
    }


def empty_searchset() -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": []}


def order_select_body(
    *,
    prefetch: dict[str, Any] | None = None,
    fhir_server: str | None = None,
    access_token: str | None = None,
    code: str = "33952",
    occurrence: str = "2026-11-20",
    patient_id: str = PATIENT_ID,
    note: str | None = None,
) -> dict[str, Any]:
    order: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": "sr-1",
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{"system": CPT, "code": code}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "occurrenceDateTime": occurrence,
    }
    if note:
        order["note"] = [{"text": note}]
    body: dict[str, Any] = {
        "hook": "order-select",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/doc-1",
            "patientId": patient_id,
            "selections": ["ServiceRequest/sr-1"],
            "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": order}]},
        },
    }
    if fhir_server is not None:
        body["fhirServer"] = fhir_server
    if access_token is not None:
        body["fhirAuthorization"] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "cpt-plugin",
        }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def full_prefetch(birth_date: str = "1980-02-01", name: str = "Example") -> dict[str, Any]:
    return {
        "patient": patient_resource(birth_date, name),
        "coverage": empty_searchset(),
        "conditions": empty_searchset(),
        "consents": empty_searchset(),
    }


def rule_ids(response: dict[str, Any]) -> set[str]:
    return {card["extension"]["org.cpt-plugin.rule"]["id"] for card in response["cards"]}


def topics(response: dict[str, Any]) -> set[str]:
    return {card["source"]["topic"]["code"] for card in response["cards"]}
