"""Verify a compact JWS whose header and claims were already read (jwt_auth.peek), with PyJWT's own
algorithm objects for the signature and PyJWT's rules for the registered claims.

Why not `jwt.decode`: it parses the token a second time, checking each base64url character in a
Python loop, which was a twelfth of the JWT path's CPU on top of `peek`'s parse. What is kept from
PyJWT is everything that decides acceptance: the signature check (`Algorithm.prepare_key` and
`Algorithm.verify`, the same library and code as `jwt.decode`), and its claim rules, restated below
(required claims present and not null; `iat` and `nbf` not after now + leeway, `exp` after now -
leeway; `iss` equal; `aud` a string or a list of strings naming one of the audiences; `sub` and
`jti` strings). Stricter than PyJWT on two points: a NumericDate must be a JSON number (PyJWT also
takes a numeric string such as "1700000000", or false as 0), and a `crit` or `b64` header parameter is refused
(no CDS Hooks client uses them). tests/security/test_jws_agreement.py checks that this accepts and
refuses exactly what `jwt.decode` does on a corpus of good and bad tokens.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Sequence
from typing import Any

from jwt.algorithms import Algorithm, get_default_algorithms
from jwt.exceptions import (
    DecodeError,
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    InvalidKeyError,
    InvalidSignatureError,
    InvalidTokenError,
    MissingRequiredClaimError,
)

_ALGORITHMS: dict[str, Algorithm] = get_default_algorithms()
# base64url without padding or with at most two padding characters, as PyJWT accepts it.
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def _number(claims: dict[str, Any], name: str) -> int:
    """A NumericDate claim as PyJWT compares it: truncated to whole seconds."""
    value = claims[name]
    error = InvalidIssuedAtError if name == "iat" else DecodeError
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise error(f"{name} must be a number (a NumericDate)")
    try:
        return int(value)
    except (ValueError, OverflowError) as exc:
        raise error(f"{name} must be a finite number") from exc


def decode_segment(segment: str) -> bytes | None:
    """A base64url segment's bytes under PyJWT's rules (at most two `=`, and then a length that is a
    multiple of 4; never a length of 1 modulo 4), or None."""
    if not _SEGMENT.fullmatch(segment):
        return None
    stripped = segment.rstrip("=")
    if (stripped != segment and len(segment) % 4) or len(stripped) % 4 == 1:
        return None
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError):
        return None


def check_signature(token: str, header: dict[str, Any], key: Any, algorithms: Sequence[str]) -> None:
    """The token's signature, by the header's `alg` (one of `algorithms`), with `key`."""
    if "crit" in header or "b64" in header:
        raise InvalidTokenError("crit and b64 header parameters are not supported")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms:
        raise InvalidAlgorithmError("The specified alg value is not allowed")
    algorithm = _ALGORITHMS.get(alg)
    if algorithm is None:
        raise InvalidAlgorithmError("Algorithm not supported")
    signing_input, _, encoded = token.rpartition(".")
    signature = decode_segment(encoded)
    if signature is None:
        raise DecodeError("Invalid crypto padding")
    try:
        prepared = algorithm.prepare_key(key)
    except InvalidKeyError as exc:  # a key of another family than `alg`: no signature can be valid
        raise InvalidAlgorithmError(f"the key does not fit {alg}") from exc
    if not algorithm.verify(signing_input.encode("ascii"), prepared, signature):
        raise InvalidSignatureError("Signature verification failed")


def check_claims(
    claims: dict[str, Any],
    *,
    audiences: Sequence[str],
    issuer: str,
    leeway: float,
    required: Sequence[str],
    now: float | None = None,
) -> None:
    """PyJWT's rules for the registered claims (see the module docstring)."""
    for name in required:
        if claims.get(name) is None:
            raise MissingRequiredClaimError(name)
    now = time.time() if now is None else now
    if "iat" in claims and _number(claims, "iat") > now + leeway:
        raise ImmatureSignatureError("The token is not yet valid (iat)")
    if "nbf" in claims and _number(claims, "nbf") > now + leeway:
        raise ImmatureSignatureError("The token is not yet valid (nbf)")
    if "exp" in claims and _number(claims, "exp") <= now - leeway:
        raise ExpiredSignatureError("Signature has expired")
    iss = claims.get("iss")
    if not isinstance(iss, str) or iss != issuer:
        raise InvalidIssuerError("Invalid issuer")
    aud = claims.get("aud")
    if not aud:
        raise MissingRequiredClaimError("aud")
    named = [aud] if isinstance(aud, str) else aud
    if not isinstance(named, list) or any(not isinstance(a, str) for a in named):
        raise InvalidAudienceError("Invalid claim format in token")
    if all(a not in named for a in audiences):
        raise InvalidAudienceError("Audience doesn't match")
    for name in ("sub", "jti"):
        if name in claims and not isinstance(claims[name], str):
            raise InvalidTokenError(f"{name} must be a string")
