"""Issuer key sets: loaded once from a JWKS file or inline JWKS, or fetched from an allowlisted `jku`.

Only asymmetric public keys are accepted (EC P-256/P-384/P-521, RSA); a symmetric (`oct`) key or an
HMAC `alg` in a configured key set is a configuration error, because CDS Hooks forbids HMAC and a
shared secret in a JWKS file would let anyone who reads it mint tokens.

A `jku` is fetched only when it is on the issuer's allowlist, without following redirects, with a
timeout and a size cap, and cached; a kid that is not in the cached set triggers at most one
refetch per `_MIN_REFETCH_SECONDS`, so random kids cannot turn us into a request amplifier.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jwt import PyJWK
from jwt.exceptions import PyJWKError

from plugin.config import ASYMMETRIC_ALGORITHMS, ConfigError
from plugin.security.fhir_fetch import FetchError, bounded_get

log = logging.getLogger("cpt_plugin.security")

_EC_ALG_BY_CURVE = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
_RSA_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
_MIN_REFETCH_SECONDS = 30.0


class JwkError(ValueError):
    """A JWK that cannot be used for verification."""


@dataclass(frozen=True)
class VerificationKey:
    kid: str
    key: Any  # a cryptography public key object
    algorithms: frozenset[str]  # the JWS algorithms this key may verify


def _key_from_jwk(jwk: Any) -> VerificationKey:
    if not isinstance(jwk, dict):
        raise JwkError("a key must be a JSON object")
    kty = jwk.get("kty")
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise JwkError("key has no `kid` (CDS Hooks requires one per key)")
    if kty == "oct":
        raise JwkError(f"key {kid!r} is symmetric (kty oct); only public asymmetric keys are accepted")
    if "d" in jwk:
        raise JwkError(f"key {kid!r} holds a private part (`d`); publish only the public key")
    if jwk.get("use") not in (None, "sig"):
        raise JwkError(f"key {kid!r} has use {jwk.get('use')!r}, not sig")
    if kty == "EC":
        possible = {_EC_ALG_BY_CURVE.get(jwk.get("crv", ""), "")} - {""}
    elif kty == "RSA":
        possible = set(_RSA_ALGS)
    else:
        raise JwkError(f"key {kid!r} has unsupported kty {kty!r}")
    declared = jwk.get("alg")
    if declared is not None:
        if declared not in ASYMMETRIC_ALGORITHMS or declared not in possible:
            raise JwkError(f"key {kid!r} declares alg {declared!r}, which does not fit a {kty} key")
        possible = {declared}
    if not possible:
        raise JwkError(f"key {kid!r} has an unsupported curve {jwk.get('crv')!r}")
    try:
        parsed = PyJWK(jwk, algorithm=sorted(possible)[0])
    except PyJWKError as exc:
        raise JwkError(f"key {kid!r} cannot be read: {exc}") from exc
    return VerificationKey(kid=kid, key=parsed.key, algorithms=frozenset(possible))


def parse_jwks(document: Any, *, strict: bool) -> dict[str, VerificationKey]:
    """kid -> key. Strict (configured sets) raises on any bad key; lenient (fetched sets) skips it."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwkError("a JWK Set must be an object with a `keys` array")
    keys: dict[str, VerificationKey] = {}
    for index, jwk in enumerate(document["keys"]):
        try:
            key = _key_from_jwk(jwk)
        except JwkError as exc:
            if strict:
                raise JwkError(f"keys[{index}]: {exc}") from exc
            log.warning("skipping unusable key in fetched JWKS: %s", exc)
            continue
        if key.kid in keys:
            if strict:
                raise JwkError(f"keys[{index}]: kid {key.kid!r} appears twice")
            continue
        keys[key.kid] = key
    return keys


def load_static_keys(entry: dict[str, Any], index: int, base: Path) -> dict[str, VerificationKey]:
    """The out-of-band keys of one configured issuer (jwks_file and/or inline jwks)."""
    keys: dict[str, VerificationKey] = {}
    prefix = f"security.issuers[{index}]"
    if "jwks_file" in entry:
        path = Path(entry["jwks_file"])
        path = path if path.is_absolute() else base / path
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"{prefix}.jwks_file: file not found: {path}") from exc
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{prefix}.jwks_file: {path} is not a readable JSON file: {exc}") from exc
        try:
            keys.update(parse_jwks(document, strict=True))
        except JwkError as exc:
            raise ConfigError(f"{prefix}.jwks_file: {path}: {exc}") from exc
    if "jwks" in entry:
        try:
            inline = parse_jwks(entry["jwks"], strict=True)
        except JwkError as exc:
            raise ConfigError(f"{prefix}.jwks: {exc}") from exc
        clash = set(inline) & set(keys)
        if clash:
            raise ConfigError(f"{prefix}.jwks: kid {sorted(clash)[0]!r} is also in jwks_file")
        keys.update(inline)
    return keys


@dataclass
class _CachedSet:
    keys: dict[str, VerificationKey]
    fetched_at: float


@dataclass
class JwksFetcher:
    """Fetches and caches the JWKS behind allowlisted `jku` URLs (shared by all issuers of an app)."""

    cache_seconds: float
    timeout_seconds: float
    max_bytes: int
    _cache: dict[str, _CachedSet] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def key_for(self, url: str, kid: str) -> VerificationKey | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(url)
        if cached and now - cached.fetched_at < self.cache_seconds and kid in cached.keys:
            return cached.keys[kid]
        if cached and kid not in cached.keys and now - cached.fetched_at < _MIN_REFETCH_SECONDS:
            return None
        fetched = self._fetch(url)
        if fetched is None:
            # Keep serving the last good set when the issuer's key server hiccups.
            return cached.keys.get(kid) if cached else None
        with self._lock:
            self._cache[url] = _CachedSet(fetched, time.monotonic())
        return fetched.get(kid)

    def _fetch(self, url: str) -> dict[str, VerificationKey] | None:
        try:
            status, body = bounded_get(
                url,
                headers={"Accept": "application/json"},
                stop=time.monotonic() + self.timeout_seconds,
                max_bytes=self.max_bytes,
            )
            if status != 200:
                log.warning("JWKS fetch from %s answered %s", url, status)
                return None
            return parse_jwks(json.loads(body), strict=False)
        except (FetchError, ValueError, JwkError) as exc:
            log.warning("JWKS fetch from %s failed: %s", url, exc)
            return None
