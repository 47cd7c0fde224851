"""CDS Hooks 2.0 client authentication: the bearer JWT on discovery, service and feedback calls.

Checks, in the order of the CDS Hooks best-practices list, each failure a 401 with no detail in the
body (the reason goes to the `cpt_plugin.security` log; the token itself is never logged), except a
key the issuer's configuration does not know behind a jku it does not allow: that body names the
setting to change, from the token's own jku and kid, since the caller is who asks the operator:
header parses; `alg` asymmetric and allowed; `kid` present; `iss` configured; the key found by `kid`
(the issuer's configured keys first: a kid found there is verified with that key and the token's `jku`
is neither checked nor fetched; otherwise `jku`, if any, must be on that issuer's allowlist); the key
fits `alg`; signature; `aud` = the URL called;
`exp`, `iat` within the clock skew; lifetime not above `max_token_lifetime_seconds`; `tenant` (if the
issuer lists tenants); `jti` not seen before (kept in the store, so replay is caught across workers).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from jwt.exceptions import InvalidTokenError

from plugin.config import ConfigError
from plugin.security import jws
from plugin.security.keys import JwksFetcher, VerificationKey, load_static_keys

log = logging.getLogger("cpt_plugin.security")

# Longer than any honest token (a header, a handful of claims, a P-521 or RSA-4096 signature).
MAX_TOKEN_LENGTH = 16_384


class AuthError(Exception):
    """The request's credentials are not acceptable; `reason` is for the log only.

    `remedy`, when set, is the configuration change that would make this token acceptable; it goes
    to the caller too. It is set only where it names nothing but what the token itself carries."""

    def __init__(
        self, reason: str, *, iss: str | None = None, jti: str | None = None, remedy: str | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.iss = iss
        self.jti = jti
        self.remedy = remedy


# How much of a token's jku and kid is echoed in a refusal (they come from the caller).
_ECHO_CHARS = 200


def _echo(value: str) -> str:
    """A caller's string fit to repeat in a log line and an answer: bounded, one line, printable."""
    return "".join(c if c.isprintable() else "?" for c in value[:_ECHO_CHARS])


# Claims every client token must carry (CDS Hooks 2.0: iss, aud, exp, iat, jti).
_REQUIRED = ("iss", "aud", "exp", "iat", "jti")


def peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a compact JWS, not yet verified: they choose the issuer and its key,
    then `jws.check_signature` verifies the signature over exactly these segments and
    `jws.check_claims` checks these claims. Each segment is read under PyJWT's base64url rules
    (`jws.decode_segment`) and parsed by orjson. ValueError for anything that is not three parts
    whose first two are JSON objects."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not three dot-separated parts")
    found: list[dict[str, Any]] = []
    for name, segment in (("header", parts[0]), ("payload", parts[1])):
        raw = jws.decode_segment(segment)
        if raw is None:
            raise ValueError(f"{name} is not base64url")
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"{name} is not JSON") from exc
        if not isinstance(value, dict):
            raise ValueError(f"{name} is not a JSON object")
        found.append(value)
    return found[0], found[1]


@dataclass(frozen=True)
class VerifiedToken:
    iss: str
    jti: str
    sub: str | None
    tenant: str | None


@dataclass
class Issuer:
    iss: str
    index: int  # its position in security.issuers, to name the setting in messages
    static_keys: dict[str, VerificationKey]
    jku_allowlist: tuple[str, ...]
    algorithms: frozenset[str]
    tenants: frozenset[str] | None


class TokenVerifier:
    """Built once per app from `[security]`; verify() is thread-safe."""

    def __init__(self, security: dict[str, Any], config_dir: Path, claim_jti: Any) -> None:
        self.skew = int(security["clock_skew_seconds"])
        self.max_lifetime = int(security["max_token_lifetime_seconds"])
        self._claim_jti = claim_jti
        global_algs = frozenset(security["algorithms"])
        self.issuers: dict[str, Issuer] = {}
        for index, entry in enumerate(security["issuers"]):
            algs = frozenset(entry.get("algorithms", global_algs)) & global_algs
            if not algs:
                raise ConfigError(
                    f"security.issuers[{index}].algorithms: none of them is in security.algorithms"
                )
            self.issuers[entry["iss"]] = Issuer(
                iss=entry["iss"],
                index=index,
                static_keys=load_static_keys(entry, index, config_dir),
                jku_allowlist=tuple(entry.get("jku_allowlist", ())),
                algorithms=algs,
                tenants=frozenset(entry["tenants"]) if "tenants" in entry else None,
            )
            _explain_jku(self.issuers[entry["iss"]], entry)
        self.fetcher = JwksFetcher(
            cache_seconds=float(security["jwks_cache_seconds"]),
            timeout_seconds=float(security["jwks_fetch_timeout_seconds"]),
            max_bytes=int(security["jwks_max_bytes"]),
        )

    # ----------------------------------------------------------------------------------------------

    @staticmethod
    def bearer_token(authorization: str | None) -> str:
        if not authorization:
            raise AuthError("no Authorization header")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthError("Authorization is not a Bearer token")
        if len(token) > MAX_TOKEN_LENGTH:
            raise AuthError("bearer token is too long")
        return token

    def _fetched_key(self, issuer: Issuer, kid: str, jku: str | None) -> VerificationKey | None:
        # Only URLs the operator allowlisted for this issuer are ever fetched.
        urls = (jku,) if jku else issuer.jku_allowlist
        for url in urls:
            key = self.fetcher.key_for(url, kid)
            if key is not None:
                return key
        return None

    @staticmethod
    def _jku_remedy(issuer: Issuer, kid: str, jku: str) -> str:
        setting = f"security.issuers[{issuer.index}]"
        return (
            f"to accept it, add {_echo(jku)} to {setting}.jku_allowlist or put the key with kid "
            f"{_echo(kid)} in {setting}.jwks_file (issuer {issuer.iss})"
        )

    def verify(self, token: str, audiences: list[str]) -> VerifiedToken:
        try:
            header, unverified = peek(token)
        except ValueError as exc:
            raise AuthError(f"malformed token: {exc}") from exc
        iss = unverified.get("iss")
        jti = unverified.get("jti")
        iss_for_log = iss if isinstance(iss, str) else None
        jti_for_log = jti if isinstance(jti, str) else None

        def fail(reason: str) -> AuthError:
            return AuthError(reason, iss=iss_for_log, jti=jti_for_log)

        alg = header.get("alg")
        if not isinstance(alg, str) or alg.upper() == "NONE" or alg.upper().startswith("HS"):
            raise fail(f"algorithm {alg!r} is not allowed")
        typ = header.get("typ")
        if typ is not None and (not isinstance(typ, str) or typ.upper() != "JWT"):
            raise fail(f"typ {typ!r} is not JWT")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise fail("no kid in the token header")
        if not isinstance(iss, str) or iss not in self.issuers:
            raise fail("issuer is not trusted")
        issuer = self.issuers[iss]
        if alg not in issuer.algorithms:
            raise fail(f"algorithm {alg!r} is not allowed for this issuer")
        jku = header.get("jku")
        if jku is not None and not isinstance(jku, str):
            raise fail("jku is not a string")
        # A key configured out of band is the strongest trust there is: the jku is only a hint
        # where to find the key, so it is not needed (nor fetched) when the kid is known.
        key = issuer.static_keys.get(kid)
        if key is None:
            if jku is not None and jku not in issuer.jku_allowlist:
                remedy = self._jku_remedy(issuer, kid, jku)
                raise AuthError(
                    f"jku {_echo(jku)!r} is not on the issuer's allowlist and kid {_echo(kid)!r} "
                    f"is not in its configured keys; {remedy}",
                    iss=iss_for_log,
                    jti=jti_for_log,
                    remedy=remedy,
                )
            key = self._fetched_key(issuer, kid, jku)
        if key is None:
            raise fail(f"no key with kid {kid!r} for this issuer")
        if alg not in key.algorithms:
            raise fail(f"algorithm {alg!r} does not fit key {kid!r}")

        # The header and claims read by peek are the ones the signature covers (same segments).
        claims = unverified
        try:
            jws.check_signature(token, header, key.key, (alg,))
            jws.check_claims(claims, audiences=audiences, issuer=iss, leeway=self.skew, required=_REQUIRED)
        except InvalidTokenError as exc:
            raise fail(f"{type(exc).__name__}: {exc}") from exc

        exp, iat = claims["exp"], claims["iat"]
        if not isinstance(claims["jti"], str) or not claims["jti"]:
            raise fail("jti must be a non-empty string")
        if exp - iat > self.max_lifetime:
            raise fail(f"token lifetime {exp - iat}s exceeds {self.max_lifetime}s")
        tenant = claims.get("tenant")
        if issuer.tenants is not None and tenant not in issuer.tenants:
            raise fail("tenant is not allowed for this issuer")
        # Remember the jti for as long as the token could still be accepted.
        if not self._claim_jti(iss, claims["jti"], int(exp) + self.skew):
            raise fail("jti was already used (replay)")
        sub = claims.get("sub")
        return VerifiedToken(
            iss=iss,
            jti=claims["jti"],
            sub=sub if isinstance(sub, str) else None,
            tenant=tenant if isinstance(tenant, str) else None,
        )


def _explain_jku(issuer: Issuer, entry: dict[str, Any]) -> None:
    """One start-up line for an issuer with a jwks_file and no jku allowlist. Clients such as the CDS
    Hooks Sandbox send a jku on every token; the line says up front what happens to it."""
    if "jwks_file" not in entry or issuer.jku_allowlist:
        return
    log.info(
        "security.issuers[%d] (%s): keys from jwks_file %s (kid %s) and no jku_allowlist: a token whose "
        "kid is in the file is verified with that key and its jku header is ignored; a token with any "
        "other kid is refused, and no jku is ever fetched",
        issuer.index,
        issuer.iss,
        entry["jwks_file"],
        ", ".join(sorted(issuer.static_keys)),
    )
