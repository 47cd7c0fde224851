"""The unverified look at a token that picks the issuer and key: it reads what PyJWT reads, and
anything that is not a compact JWS of two JSON objects is refused before any key is looked up."""

from __future__ import annotations

import base64

import jwt
import pytest

from plugin.security.jwt_auth import peek
from tests.security.conftest import es384_signer


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_peek__same_header_and_claims_as_pyjwt() -> None:
    token = es384_signer().token("https://cds.example.org/cds-services/x", tenant="t1")
    header, claims = peek(token)
    assert header == jwt.get_unverified_header(token)
    assert claims == jwt.decode(token, options={"verify_signature": False})


def test_peek__padded_segments_accepted_like_pyjwt() -> None:
    head, body, sig = es384_signer().token("https://a").split(".")
    padded = ".".join(part + "=" * (-len(part) % 4) for part in (head, body)) + "." + sig
    assert peek(padded) == peek(f"{head}.{body}.{sig}")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d.e",
        f"{_b64(b'[1]')}.{_b64(b'{}')}.x",
        f"{_b64(b'{}')}.{_b64(b'not json')}.x",
        f"{_b64(b'{}')}!.{_b64(b'{}')}.x",
        f"{_b64(b'{}')}===.{_b64(b'{}')}.x",
        f"{_b64(b'{}')}.{_b64(b'42')}.x",
        "\u00e9.\u00e9.\u00e9",
    ],
)
def test_peek__not_a_compact_jws_of_two_objects__value_error(token: str) -> None:
    with pytest.raises(ValueError):
        peek(token)
