"""Settings: built-in defaults, overlaid by a TOML file, overlaid by a mapping passed to create_app.

The file comes from `--config FILE` or the CPT_PLUGIN_CONFIG environment variable (docs/configuration.md).
Values are kept as the nested dict TOML gives, under `app.config["PLUGIN"]`, so a key reads the same in the
file, in code and in the docs. The merged settings are checked before anything uses them: an unknown key,
a wrong type, an issuer without a key source or a symmetric algorithm raise ConfigError, whose message
names the offending key (`security.issuers[0].jwks_file`), so a typo cannot silently weaken security."""

from __future__ import annotations

import copy
import datetime as dt
import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_ENV = "CPT_PLUGIN_CONFIG"

# CDS Hooks 2.0 forbids `none` and HMAC; these are the asymmetric JWS algorithms we verify.
ASYMMETRIC_ALGORITHMS = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
DEFAULT_ALGORITHMS = ["ES256", "ES384", "ES512", "RS256", "RS384", "RS512"]

DEFAULTS: dict[str, Any] = {
    "server": {
        "host": "127.0.0.1",
        "port": 8080,
        "workers": 1,
        # Base URL as callers see it (JWT `aud` is compared with it); None = taken from the request.
        "public_base_url": None,
    },
    "content": {
        "fhir_bundles": str(PROJECT_ROOT / "fhir_bundles"),
        "cds_hooks": str(PROJECT_ROOT / "cds_hooks"),
        # Extra folders of FHIR JSON and FHIR NPM package tarballs (e.g. a site's licensed CPT release).
        "paths": [],
        "packages": [],
        # ICD-10-CM code system: "bundled" (simple-icd-10-cm's CDC tabular), a CDC tabular XML path, or "".
        "icd10cm": "bundled",
    },
    "security": {
        "require_jwt": False,
        "issuers": [],
        "clock_skew_seconds": 60,
        # Tokens living longer than this are refused; a seen `jti` is remembered this long at most.
        "max_token_lifetime_seconds": 3600,
        "algorithms": list(DEFAULT_ALGORITHMS),
        "jwks_cache_seconds": 300,
        "jwks_fetch_timeout_seconds": 3.0,
        "jwks_max_bytes": 100_000,
    },
    "storage": {
        "url": "sqlite:///var/feedback.db",
        # Days each table keeps its rows (0 = for ever); see plugin/storage/retention.py.
        "retention": {
            "issued_cards_days": 90,
            "audit_days": 400,
            "feedback_days": 0,
            "purge_interval_seconds": 3600,
            "purge_batch_rows": 500,
        },
    },
    "limits": {
        "max_body_bytes": 1_000_000,
        "max_draft_orders": 200,  # a hook call's cost grows with the square of its orders
        "max_family_orders": 10,
        "fetch_timeout_seconds": 3.0,
        "fetch_total_seconds": 8.0,
        "fetch_max_bytes": 5_000_000,
    },
    "cors": {
        "origins": ["*"],
        "max_age_seconds": 600,
    },
    "audit": {
        # "stderr", "stdout", "off", or a file path (relative to the config file).
        "log": "stderr",
        "database": True,
    },
    "sandbox": {
        # Folders of imported patients the sandbox serves.
        "patients_dirs": ["var/sandbox/imported"],
        # None = follow the mode: on in development mode, off once JWT or issuers are configured,
        # because the page and its FHIR server serve patient records to anyone who can reach them.
        "enabled": None,
    },
    "clock": {
        # Pin "today" (YYYY-MM-DD) for demos; None = the real UTC date; CPT_PLUGIN_TODAY overrides it.
        "today": None,
    },
    "terminology": {
        # Largest unpaged $expand; more is a too-costly OperationOutcome. None = the terminology API's own
        # default (plugin/terminology/expand/paging.py DEFAULT_LIMIT); X-TOO-COSTLY-THRESHOLD may lower it.
        "expansion_limit": None,
        # FHIR NPM packages only /fhir (R4) or only /fhir/r5 sees, e.g. hl7.fhir.r4.core / r5.core.
        "r4_packages": [],
        "r5_packages": [],
    },
}

ISSUER_KEYS = {"iss", "jwks_file", "jwks", "jku_allowlist", "fhir_servers", "algorithms", "tenants"}

# Sections added by other areas through register_section(); checked for unknown keys like ours.
_EXTRA_SECTIONS: dict[str, dict[str, Any]] = {}
_EXTRA_CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {}


class ConfigError(ValueError):
    """A configuration file or mapping that cannot be used; the message names the key."""


def register_section(
    name: str, defaults: dict[str, Any], check: Callable[[dict[str, Any]], None] | None = None
) -> None:
    """Let an area own a `[name]` section: its defaults join DEFAULTS and its keys become known.

    `check(section_values)` may raise ConfigError for values it cannot use.
    """
    if name in DEFAULTS:
        raise ValueError(f"section [{name}] is built in")
    _EXTRA_SECTIONS[name] = copy.deepcopy(defaults)
    if check is not None:
        _EXTRA_CHECKS[name] = check


def all_defaults() -> dict[str, Any]:
    return {**copy.deepcopy(DEFAULTS), **copy.deepcopy(_EXTRA_SECTIONS)}


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    file = Path(path)
    try:
        with file.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file not found: {file}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {file} is not valid TOML: {exc}") from exc
    data.setdefault("_file", str(file.resolve()))
    return data


def load_settings(
    overrides: dict[str, Any] | None = None, config_file: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Defaults <- TOML file (argument, else $CPT_PLUGIN_CONFIG) <- overrides, then validated."""
    settings = all_defaults()
    file = config_file or os.environ.get(CONFIG_ENV)
    if file:
        settings = deep_merge(settings, read_toml(file))
    if overrides:
        settings = deep_merge(settings, overrides)
    validate_settings(settings)
    return settings


def resolve_path(settings: dict[str, Any], value: str) -> Path:
    """Relative paths in a config file are relative to that file; otherwise to the working directory."""
    path = Path(value)
    if path.is_absolute():
        return path
    base = Path(settings["_file"]).parent if settings.get("_file") else Path.cwd()
    return base / path


def development_mode(settings: dict[str, Any]) -> bool:
    """No JWT required and no issuer configured: anyone may call, and only loopback FHIR is fetched."""
    security = settings["security"]
    return not security["require_jwt"] and not security["issuers"]


def sandbox_enabled(settings: dict[str, Any]) -> bool:
    """`[sandbox] enabled` when set, else on in development mode only."""
    enabled = settings["sandbox"].get("enabled")
    return development_mode(settings) if enabled is None else bool(enabled)


# --------------------------------------------------------------------------------------------------
# Validation


def _fail(key: str, problem: str) -> ConfigError:
    return ConfigError(f"{key}: {problem}")


def _check_type(key: str, value: Any, kind: type | tuple[type, ...], what: str) -> None:
    # bool is an int in Python; a `port = true` is a mistake, not 1.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise _fail(key, f"expected {what}, got {value!r}")
    if not isinstance(value, kind):
        raise _fail(key, f"expected {what}, got {value!r}")


def _positive(key: str, value: Any, *, integer: bool = False) -> None:
    _check_type(key, value, int if integer else (int, float), "an integer" if integer else "a number")
    if value <= 0:
        raise _fail(key, f"must be greater than 0, got {value!r}")


def _string_list(key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(key, f"expected a list of non-empty strings, got {value!r}")
    return value


def _http_url(key: str, value: Any) -> None:
    _check_type(key, value, str, "an http(s) URL")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _fail(key, f"expected an http(s) URL, got {value!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise _fail(key, f"a URL without credentials, query or fragment is expected, got {value!r}")


def _algorithms(key: str, value: Any) -> None:
    for alg in _string_list(key, value):
        if alg.upper() == "NONE" or alg.upper().startswith("HS"):
            raise _fail(
                key, f"{alg!r} is not allowed: CDS Hooks forbids `none` and symmetric (HMAC) algorithms"
            )
        if alg not in ASYMMETRIC_ALGORITHMS:
            raise _fail(key, f"unknown algorithm {alg!r}; use one of {', '.join(ASYMMETRIC_ALGORITHMS)}")
    if not value:
        raise _fail(key, "at least one algorithm is needed")


def _check_known_keys(section: str, values: dict[str, Any], known: set[str]) -> None:
    for key in values:
        if key not in known:
            raise _fail(f"{section}.{key}", f"unknown key (known keys: {', '.join(sorted(known))})")


def _validate_issuer(index: int, entry: Any, seen: set[str]) -> None:
    prefix = f"security.issuers[{index}]"
    if not isinstance(entry, dict):
        raise _fail(prefix, "each [[security.issuers]] entry must be a table")
    _check_known_keys(prefix, entry, ISSUER_KEYS)
    if "iss" not in entry:
        raise _fail(f"{prefix}.iss", "missing; every issuer needs its `iss` (the JWT issuer it trusts)")
    _check_type(f"{prefix}.iss", entry["iss"], str, "a string")
    if not entry["iss"]:
        raise _fail(f"{prefix}.iss", "must not be empty")
    if entry["iss"] in seen:
        raise _fail(f"{prefix}.iss", f"issuer {entry['iss']!r} is configured twice")
    seen.add(entry["iss"])
    # Configured keys (jwks_file, jwks) are tried first by kid, whatever jku a token names, and a jku
    # is never fetched for them; jku_allowlist is only needed for keys that are not configured
    # (plugin/security/jwt_auth.py).
    sources = [k for k in ("jwks_file", "jwks", "jku_allowlist") if k in entry]
    if not sources:
        raise _fail(
            prefix,
            f"issuer {entry['iss']!r} has no key source; set jwks_file, jwks (inline) or jku_allowlist",
        )
    if "jwks_file" in entry:
        _check_type(f"{prefix}.jwks_file", entry["jwks_file"], str, "a file path")
    if "jwks" in entry:
        jwks = entry["jwks"]
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
            raise _fail(
                f"{prefix}.jwks", "expected a JWK Set: { keys = [ {...}, ... ] } with at least one key"
            )
    if "jku_allowlist" in entry:
        for i, url in enumerate(_string_list(f"{prefix}.jku_allowlist", entry["jku_allowlist"])):
            _http_url(f"{prefix}.jku_allowlist[{i}]", url)
    for i, url in enumerate(_string_list(f"{prefix}.fhir_servers", entry.get("fhir_servers", []))):
        _http_url(f"{prefix}.fhir_servers[{i}]", url)
    if "algorithms" in entry:
        _algorithms(f"{prefix}.algorithms", entry["algorithms"])
    if "tenants" in entry:
        _string_list(f"{prefix}.tenants", entry["tenants"])


def _validate_storage_url(url: Any) -> None:
    _check_type("storage.url", url, str, "a database URL")
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme not in ("sqlite", "postgresql", "postgres"):
        expected = "expected sqlite:///PATH or postgresql://USER@HOST/DB"
        raise _fail("storage.url", f"{expected}, got scheme {scheme!r}")


def _validate_retention(retention: Any) -> None:
    if not isinstance(retention, dict):
        raise _fail("storage.retention", "must be a table ([storage.retention])")
    _check_known_keys("storage.retention", retention, set(DEFAULTS["storage"]["retention"]))
    for key in ("issued_cards_days", "audit_days", "feedback_days", "purge_interval_seconds"):
        value = retention.get(key, 0)
        _check_type(f"storage.retention.{key}", value, int, "a whole number (0 = never)")
        if value < 0:
            raise _fail(f"storage.retention.{key}", f"must be 0 (never) or more, got {value}")
    batch = retention.get("purge_batch_rows", 1)
    _positive("storage.retention.purge_batch_rows", batch, integer=True)
    if batch > 10_000:
        raise _fail("storage.retention.purge_batch_rows", f"at most 10000 (small batches), got {batch}")


def validate_settings(settings: dict[str, Any]) -> None:
    """Raise ConfigError naming the first key that is unknown, mistyped or unsafe."""
    defaults = all_defaults()
    for section, values in settings.items():
        if section.startswith("_"):
            continue
        if section not in defaults:
            raise _fail(f"[{section}]", f"unknown section (known sections: {', '.join(sorted(defaults))})")
        if not isinstance(values, dict):
            raise _fail(f"[{section}]", "must be a table")
        _check_known_keys(section, values, set(defaults[section]))

    server = settings["server"]
    _check_type("server.host", server["host"], str, "a host name or address")
    _check_type("server.port", server["port"], int, "a port number")
    if not 0 <= server["port"] <= 65535:
        raise _fail("server.port", f"must be between 0 and 65535, got {server['port']}")
    _positive("server.workers", server["workers"], integer=True)
    if server["public_base_url"] is not None:
        _http_url("server.public_base_url", server["public_base_url"])

    content = settings["content"]
    _check_type("content.fhir_bundles", content["fhir_bundles"], str, "a folder path")
    _check_type("content.cds_hooks", content["cds_hooks"], str, "a folder path")
    _string_list("content.paths", content["paths"])
    _string_list("content.packages", content["packages"])
    _check_type("content.icd10cm", content["icd10cm"], str, '"bundled", a file path, or ""')

    security = settings["security"]
    _check_type("security.require_jwt", security["require_jwt"], bool, "true or false")
    _check_type("security.clock_skew_seconds", security["clock_skew_seconds"], int, "a number of seconds")
    if not 0 <= security["clock_skew_seconds"] <= 600:
        raise _fail("security.clock_skew_seconds", "must be between 0 and 600 seconds")
    _positive("security.max_token_lifetime_seconds", security["max_token_lifetime_seconds"], integer=True)
    _algorithms("security.algorithms", security["algorithms"])
    _positive("security.jwks_cache_seconds", security["jwks_cache_seconds"], integer=True)
    _positive("security.jwks_fetch_timeout_seconds", security["jwks_fetch_timeout_seconds"])
    _positive("security.jwks_max_bytes", security["jwks_max_bytes"], integer=True)
    if not isinstance(security["issuers"], list):
        raise _fail("security.issuers", "expected an array of tables ([[security.issuers]])")
    seen: set[str] = set()
    for index, entry in enumerate(security["issuers"]):
        _validate_issuer(index, entry, seen)
    if security["require_jwt"] and not security["issuers"]:
        raise _fail(
            "security.issuers",
            "require_jwt = true but no issuer is configured, so every call would be refused; "
            "add a [[security.issuers]] entry",
        )

    _validate_storage_url(settings["storage"]["url"])
    _validate_retention(settings["storage"]["retention"])

    today = settings["clock"]["today"]
    if today is not None:
        _check_type("clock.today", today, str, "a date like 2028-02-29")
        try:
            dt.date.fromisoformat(today)
        except ValueError:
            raise _fail("clock.today", f"expected a date like 2028-02-29, got {today!r}") from None

    limits = settings["limits"]
    for key in ("max_body_bytes", "max_draft_orders", "max_family_orders", "fetch_max_bytes"):
        _positive(f"limits.{key}", limits[key], integer=True)
    _positive("limits.fetch_timeout_seconds", limits["fetch_timeout_seconds"])
    _positive("limits.fetch_total_seconds", limits["fetch_total_seconds"])

    cors = settings["cors"]
    for i, origin in enumerate(_string_list("cors.origins", cors["origins"])):
        if origin != "*":
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
                raise _fail(
                    f"cors.origins[{i}]",
                    f'expected "*" or an origin like https://ehr.example.org, got {origin!r}',
                )
    _check_type("cors.max_age_seconds", cors["max_age_seconds"], int, "a number of seconds")

    audit = settings["audit"]
    _check_type("audit.log", audit["log"], str, '"stderr", "stdout", "off" or a file path')
    _check_type("audit.database", audit["database"], bool, "true or false")

    _string_list("sandbox.patients_dirs", settings["sandbox"]["patients_dirs"])
    if settings["sandbox"]["enabled"] is not None:
        _check_type("sandbox.enabled", settings["sandbox"]["enabled"], bool, "true or false")
    # terminology.expansion_limit: only known-key checked (the terminology API falls back on a bad value).
    _string_list("terminology.r4_packages", settings["terminology"]["r4_packages"])
    _string_list("terminology.r5_packages", settings["terminology"]["r5_packages"])

    for name, check in _EXTRA_CHECKS.items():
        check(settings[name])
