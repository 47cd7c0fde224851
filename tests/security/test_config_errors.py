"""A configuration that cannot be used stops the app with a message naming the key, so a typo never
silently weakens security."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin import config
from plugin.app import create_app
from plugin.config import ConfigError, load_settings, register_section
from tests.security.conftest import SANDBOX_JWKS, write_config

KEY_SOURCE = f'jwks_file = "{SANDBOX_JWKS}"'


def load(tmp_path: Path, text: str) -> dict:
    return load_settings(config_file=write_config(tmp_path, text))


@pytest.mark.parametrize(
    ("toml", "names"),
    [
        ("[securty]\nrequire_jwt = true\n", "[securty]: unknown section"),
        ("[security]\nrequire_jwts = true\n", "security.require_jwts: unknown key"),
        ('[security]\nrequire_jwt = "yes"\n', "security.require_jwt: expected true or false"),
        (
            '[security]\nrequire_jwt = true\n[[security.issuers]]\niss = "https://ehr.example.org"\n',
            "security.issuers[0]: issuer 'https://ehr.example.org' has no key source",
        ),
        (
            f'[[security.issuers]]\niss = "a"\n{KEY_SOURCE}\nalgorithms = ["HS256"]\n',
            "security.issuers[0].algorithms: 'HS256' is not allowed",
        ),
        ('[security]\nalgorithms = ["none"]\n', "security.algorithms: 'none' is not allowed"),
        ('[security]\nalgorithms = ["ES999"]\n', "security.algorithms: unknown algorithm 'ES999'"),
        (f"[[security.issuers]]\n{KEY_SOURCE}\n", "security.issuers[0].iss: missing"),
        (
            f'[[security.issuers]]\niss = "a"\n{KEY_SOURCE}\n[[security.issuers]]\niss = "a"\n{KEY_SOURCE}\n',
            "security.issuers[1].iss: issuer 'a' is configured twice",
        ),
        (
            f'[[security.issuers]]\niss = "a"\n{KEY_SOURCE}\nfhir_servers = ["ftp://x/fhir"]\n',
            "security.issuers[0].fhir_servers[0]: expected an http(s) URL",
        ),
        (
            f'[[security.issuers]]\niss = "a"\n{KEY_SOURCE}\njku_allowlist = ["https://u:p@x/jwks"]\n',
            "security.issuers[0].jku_allowlist[0]: a URL without credentials",
        ),
        (
            f'[[security.issuers]]\niss = "a"\njwks_fiel = "k.json"\n{KEY_SOURCE}\n',
            "security.issuers[0].jwks_fiel: unknown key",
        ),
        ("[security]\nrequire_jwt = true\n", "security.issuers: require_jwt = true but no issuer"),
        ('[storage]\nurl = "mysql://x/db"\n', "storage.url: expected sqlite:///PATH or postgresql://"),
        ("[limits]\nmax_body_bytes = 0\n", "limits.max_body_bytes: must be greater than 0"),
        ("[limits]\nfetch_timeout_seconds = true\n", "limits.fetch_timeout_seconds: expected a number"),
        ('[cors]\norigins = ["https://ehr.example.org/app"]\n', "cors.origins[0]: expected"),
        ("[server]\nport = 70000\n", "server.port: must be between 0 and 65535"),
        (
            '[server]\npublic_base_url = "cds.example.org"\n',
            "server.public_base_url: expected an http(s) URL",
        ),
        ("[audit]\ndatabase = 1\n", "audit.database: expected true or false"),
    ],
)
def test_unusable_setting__config_error_names_the_key(tmp_path: Path, toml: str, names: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, toml)
    assert names in str(err.value)


def test_mapping_passed_to_create_app__validated_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="security.require_jwt"):
        create_app({"security": {"require_jwt": 1}, "storage": {"url": f"sqlite:///{tmp_path}/f.db"}})


def test_production_example__loads(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        f"""
[server]
public_base_url = "https://cds.example.org"
[security]
require_jwt = true
[[security.issuers]]
iss = "https://sandbox.cds-hooks.org"
jwks_file = "{SANDBOX_JWKS}"
jku_allowlist = ["https://sandbox.cds-hooks.org/.well-known/jwks.json"]
fhir_servers = ["http://127.0.0.1:9090/fhir"]
[storage]
url = "postgresql://cpt@db.internal/cpt"
[cors]
origins = ["https://sandbox.cds-hooks.org"]
""",
    )
    assert settings["security"]["issuers"][0]["fhir_servers"] == ["http://127.0.0.1:9090/fhir"]
    assert settings["security"]["clock_skew_seconds"] == 60


def test_area_section__known_once_registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "_EXTRA_SECTIONS", {})
    monkeypatch.setattr(config, "_EXTRA_CHECKS", {})
    with pytest.raises(ConfigError, match=r"\[trust_test_area\]: unknown section"):
        load(tmp_path, "[trust_test_area]\nlevel = 3\n")

    def check(section: dict) -> None:
        if section["level"] > 5:
            raise ConfigError("trust_test_area.level: at most 5")

    register_section("trust_test_area", {"level": 1}, check)
    assert load(tmp_path, "[trust_test_area]\nlevel = 3\n")["trust_test_area"] == {"level": 3}
    with pytest.raises(ConfigError, match="trust_test_area.level: at most 5"):
        load(tmp_path, "[trust_test_area]\nlevel = 9\n")
    with pytest.raises(ConfigError, match="trust_test_area.lvl: unknown key"):
        load(tmp_path, "[trust_test_area]\nlvl = 3\n")
