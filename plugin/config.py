"""Settings: built-in defaults, overlaid by a TOML file, overlaid by a mapping passed to create_app.

The file comes from `--config FILE` or the CPT_PLUGIN_CONFIG environment variable. Sections and keys
are documented in README.md ("Configuration"). Values are kept as the nested dict TOML gives, under
`app.config["PLUGIN"]`, so a key reads the same in the file, in code and in the docs.
"""

from __future__ import annotations

import copy
import os
import tomllib
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_ENV = "CPT_PLUGIN_CONFIG"

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
    },
    "security": {
        "require_jwt": False,
        "issuers": [],
        "clock_skew_seconds": 60,
    },
    "storage": {
        "url": "sqlite:///var/feedback.db",
    },
    "limits": {
        "max_body_bytes": 1_000_000,
        "fetch_timeout_seconds": 3.0,
        "fetch_max_bytes": 5_000_000,
    },
    "cors": {
        "origins": ["*"],
    },
    "sandbox": {"patients_dirs": ["var/sandbox/imported"]},  # folders of imported patients the sandbox serves
}


class ConfigError(ValueError):
    """A configuration file or mapping that cannot be used; the message names the key."""


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
    """Defaults <- TOML file (argument, else $CPT_PLUGIN_CONFIG) <- overrides."""
    settings = copy.deepcopy(DEFAULTS)
    file = config_file or os.environ.get(CONFIG_ENV)
    if file:
        settings = deep_merge(settings, read_toml(file))
    if overrides:
        settings = deep_merge(settings, overrides)
    return settings


def resolve_path(settings: dict[str, Any], value: str) -> Path:
    """Relative paths in a config file are relative to that file; otherwise to the working directory."""
    path = Path(value)
    if path.is_absolute():
        return path
    base = Path(settings["_file"]).parent if settings.get("_file") else Path.cwd()
    return base / path
