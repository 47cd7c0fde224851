"""Signing CDS Hooks calls as a client does: one fresh JWT per request, `aud` = the URL called.

Used by `cpt-plugin replay --jwt-key`: a server that requires JWTs accepts each token once (`jti`)
and only for the endpoint it names, so a pasted token cannot serve a whole replay run.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

LIFETIME_SECONDS = 300
_EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


class SigningKeyError(ValueError):
    """A private key file that cannot sign CDS Hooks JWTs; the message says why."""


def load_signing_key(path: Path) -> tuple[object, str]:
    """The private key in a PEM file and the JWS algorithm CDS Hooks recommends for it."""
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path}: not an unencrypted PEM private key ({exc})") from exc
    if isinstance(key, ec.EllipticCurvePrivateKey):
        alg = _EC_ALGORITHMS.get(key.curve.name)
        if alg is None:
            raise SigningKeyError(f"{path}: curve {key.curve.name} is not one JWS uses")
        return key, alg
    if isinstance(key, rsa.RSAPrivateKey):
        return key, "RS384"
    raise SigningKeyError(f"{path}: only EC (P-256/384/521) and RSA keys sign CDS Hooks JWTs")


class CdsHooksJwtAuth(requests.auth.AuthBase):
    """A requests auth hook that signs every request with a new token for exactly that URL."""

    def __init__(self, key_file: Path, issuer: str, kid: str, *, subject: str | None = None) -> None:
        self.key, self.alg = load_signing_key(key_file)
        self.issuer = issuer
        self.kid = kid
        self.subject = subject

    def token_for(self, url: str) -> str:
        parts = urlsplit(url)
        audience = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": audience,
            "iat": now,
            "exp": now + LIFETIME_SECONDS,
            "jti": str(uuid.uuid4()),
        }
        if self.subject:
            claims["sub"] = self.subject
        return jwt.encode(claims, self.key, algorithm=self.alg, headers={"kid": self.kid, "typ": "JWT"})

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token_for(request.url or '')}"
        return request
