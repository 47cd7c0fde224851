"""CDS Hooks 2.0 client authentication: the bearer JWT on discovery, service and feedback calls.

Checks, in the order of the CDS Hooks best-practices list, each failure a 401 with no detail in the
body (the reason goes to the `cpt_plugin.security` log; the token itself is never logged):
header parses; `alg` asymmetric and allowed; `kid` present; `iss` configured; `jku` (if any) on that
issuer's allowlist; the key found by `kid`; the key fits `alg`; signature; `aud` = the URL called;
`exp`, `iat` within the clock skew; lifetime not above `max_token_lifetime_seconds`; `tenant` (if the
issuer lists tenants); `jti` not seen before (kept in the store, so replay is caught across workers).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from jwt.exceptions import InvalidTokenError

from plugin.config import ConfigError
from plugin.security.keys import JwksFetcher, VerificationKey, load_static_keys

log = logging.getLogger("cpt_plugin.security")

# Longer than any honest token (a header, a handful of claims, a P-521 or RSA-4096 signature).
MAX_TOKEN_LENGTH = 16_384


class AuthError(Exception):
    """The request's credentials are not acceptable; `reason` is for the log only."""

    def __init__(self, reason: str, *, iss: str | None = None, jti: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.iss = iss
        self.jti = jti


@dataclass(frozen=True)
class VerifiedToken:
    iss: str
    jti: str
    sub: str | None
    tenant: str | None


@dataclass
class Issuer:
    iss: str
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
                static_keys=load_static_keys(entry, index, config_dir),
                jku_allowlist=tuple(entry.get("jku_allowlist", ())),
                algorithms=algs,
                tenants=frozenset(entry["tenants"]) if "tenants" in entry else None,
            )
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

    def _find_key(self, issuer: Issuer, kid: str, jku: str | None) -> VerificationKey | None:
        key = issuer.static_keys.get(kid)
        if key is not None:
            return key
        # Only URLs the operator allowlisted for this issuer are ever fetched.
        urls = (jku,) if jku else issuer.jku_allowlist
        for url in urls:
            key = self.fetcher.key_for(url, kid)
            if key is not None:
                return key
        return None

    def verify(self, token: str, audiences: list[str]) -> VerifiedToken:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except InvalidTokenError as exc:
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
        if jku is not None and (not isinstance(jku, str) or jku not in issuer.jku_allowlist):
            raise fail("jku is not on the issuer's allowlist")
        key = self._find_key(issuer, kid, jku)
        if key is None:
            raise fail(f"no key with kid {kid!r} for this issuer")
        if alg not in key.algorithms:
            raise fail(f"algorithm {alg!r} does not fit key {kid!r}")

        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=audiences,
                issuer=iss,
                leeway=self.skew,
                options={"require": ["iss", "aud", "exp", "iat", "jti"], "verify_iat": True},
            )
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
