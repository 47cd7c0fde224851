"""The lean verifier (plugin/security/jws.py over jwt_auth.peek) accepts and refuses exactly what
PyJWT's `jwt.decode` does with the options the service used it with, on a corpus of good and bad tokens:
every claim missing, null, of the wrong type or out of time; audiences as strings and lists; tampered,
truncated and re-padded segments; other algorithms and other keys. Where it is deliberately stricter
(a NumericDate given as a string, `crit`/`b64` headers) a test says so."""

from __future__ import annotations

import base64
import itertools
import json
import random
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import get_default_algorithms

from plugin.security import jws
from plugin.security.jwt_auth import peek

ISS = "https://ehr.example.org"
AUD = "https://cds.example.org/cds-services/svc"
AUDIENCES = [AUD, AUD + "/"]
LEEWAY = 60
REQUIRED = ["iss", "aud", "exp", "iat", "jti"]

EC_KEY = ec.generate_private_key(ec.SECP384R1())
OTHER_EC_KEY = ec.generate_private_key(ec.SECP384R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(
    claims: dict[str, Any], *, key: Any = EC_KEY, alg: str = "ES384", header: dict[str, Any] | None = None
) -> str:
    # Built by hand: jwt.encode refuses to mint most of the bad claims this corpus needs.
    head = _b64(json.dumps({"alg": alg, "typ": "JWT", "kid": "k1", **(header or {})}).encode())
    body = _b64(json.dumps(claims).encode())
    signing_input = f"{head}.{body}".encode()
    return f"{head}.{body}.{_b64(get_default_algorithms()[alg].sign(signing_input, key))}"


def ours(token: str, key: Any, alg: str) -> bool:
    try:
        header, claims = peek(token)
        jws.check_signature(token, header, key, (alg,))
        jws.check_claims(claims, audiences=AUDIENCES, issuer=ISS, leeway=LEEWAY, required=REQUIRED)
    except (ValueError, jwt.InvalidTokenError):
        return False
    return True


def pyjwt(token: str, key: Any, alg: str) -> bool:
    try:
        jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=AUDIENCES,
            issuer=ISS,
            leeway=LEEWAY,
            options={"require": REQUIRED, "verify_iat": True},
        )
    except jwt.PyJWTError:
        return False
    return True


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {"iss": ISS, "aud": AUD, "exp": now + 300, "iat": now, "jti": "j-1", "sub": "u"}
    for name, value in overrides.items():
        if value is _DROP:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


_DROP = object()


def _claim_variants() -> list[dict[str, Any]]:
    now = int(time.time())
    values: dict[str, list[Any]] = {
        "iss": [ISS, "https://other.example.org", None, 7, _DROP],
        "aud": [AUD, AUD + "/", [AUD], ["x", AUD], ["x"], [], "", "x", 7, [7], None, _DROP],
        "exp": [now + 300, now - 30, now - LEEWAY - 1, now - LEEWAY + 5, now + 0.5, 1e30, None, True, _DROP],
        "iat": [now, now + 30, now + LEEWAY + 5, now - 1000, float(now), None, _DROP],
        "nbf": [_DROP, now - 10, now + 30, now + LEEWAY + 5, None],
        "jti": ["j-1", "", 7, None, _DROP],
        "sub": ["u", 7, None, _DROP],
    }
    found = [_claims()]
    for name, options in values.items():  # one claim varied at a time
        found += [_claims(**{name: v}) for v in options]
    rng = random.Random(20261207)
    for _ in range(150):  # and several at once
        found.append(_claims(**{name: rng.choice(options) for name, options in values.items()}))
    return found


@pytest.mark.parametrize("claims", _claim_variants(), ids=lambda c: json.dumps(c, sort_keys=True)[:80])
def test_claims__same_verdict_as_jwt_decode(claims: dict[str, Any]) -> None:
    token = _sign(claims)
    public = EC_KEY.public_key()
    assert ours(token, public, "ES384") == pyjwt(token, public, "ES384"), claims


def _mangled(token: str) -> list[str]:
    head, payload, signature = token.split(".")
    other = _sign(_claims(jti="other"))
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    return [
        token,
        f"{head}.{other.split('.')[1]}.{signature}",  # someone else's claims under this signature
        f"{head}.{payload}.{flipped}",
        f"{head}.{payload}.{signature[:-4]}",
        f"{head}.{payload}.",
        f"{head}=.{payload}.{signature}",
        f"{head}==.{payload}.{signature}",
        f"{head}.{payload}==.{signature}",
        f"{head}.{payload}.{signature}=",
        f"{head}.{payload}.{signature}===",
        f"{head}.{payload}.{signature}.x",
        f"{head}.{payload}",
        f"{head}.{payload}.{signature}+",
        f"{head}.{payload[:-1]}.{signature}",
        f"{_b64(b'[1]')}.{payload}.{signature}",
        f"{head}.{_b64(b'not json')}.{signature}",
    ]


@pytest.mark.parametrize("index", range(16))
def test_mangled_tokens__same_verdict_as_jwt_decode(index: int) -> None:
    token = _mangled(_sign(_claims()))[index]
    public = EC_KEY.public_key()
    assert ours(token, public, "ES384") == pyjwt(token, public, "ES384")


@pytest.mark.parametrize(
    ("alg", "signing_key", "verifying_key", "expected_alg"),
    [
        ("ES384", EC_KEY, EC_KEY.public_key(), "ES384"),
        ("ES384", OTHER_EC_KEY, EC_KEY.public_key(), "ES384"),
        ("ES256", EC_KEY, EC_KEY.public_key(), "ES384"),
        ("RS384", RSA_KEY, RSA_KEY.public_key(), "RS384"),
        ("RS384", RSA_KEY, RSA_KEY.public_key(), "ES384"),
        ("PS384", RSA_KEY, RSA_KEY.public_key(), "PS384"),
        ("RS256", RSA_KEY, RSA_KEY.public_key(), "RS384"),
    ],
)
def test_algorithms_and_keys__same_verdict_as_jwt_decode(
    alg: str, signing_key: Any, verifying_key: Any, expected_alg: str
) -> None:
    token = _sign(_claims(), key=signing_key, alg=alg)
    assert ours(token, verifying_key, expected_alg) == pyjwt(token, verifying_key, expected_alg)


def test_every_corpus_verdict_occurs() -> None:
    """The corpus is not all accepted or all refused: both verdicts are exercised."""
    public = EC_KEY.public_key()
    verdicts = {ours(_sign(c), public, "ES384") for c in itertools.islice(_claim_variants(), 60)}
    assert verdicts == {True, False}


def test_stricter__numeric_date_not_a_number_refused() -> None:
    # RFC 7519 NumericDate is a JSON number; PyJWT also takes "1700000000" and false (as 0). Refused
    # here, so that no later arithmetic on exp/iat meets a string.
    now = int(time.time())
    public = EC_KEY.public_key()
    for claims in (_claims(exp=str(now + 300)), _claims(iat=str(now)), _claims(iat=False)):
        token = _sign(claims)
        assert pyjwt(token, public, "ES384") is True
        assert ours(token, public, "ES384") is False


def test_stricter__crit_and_b64_headers_refused() -> None:
    public = EC_KEY.public_key()
    token = _sign(_claims(), header={"crit": ["exp"], "exp": 1})
    assert ours(token, public, "ES384") is False
    token = _sign(_claims(), header={"b64": True})
    assert ours(token, public, "ES384") is False
