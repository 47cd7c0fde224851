"""The factory builds an app that answers on every area's root, and settings layer as documented."""

from __future__ import annotations

from pathlib import Path

import requests

import plugin
from plugin.app import create_app
from plugin.config import DEFAULTS, ConfigError, load_settings

SANDBOX_JWKS = Path(plugin.__file__).parent / "security" / "jwks" / "cds-hooks-sandbox.json"


def test_index__lists_every_area(client) -> None:
    body = client.get("/").get_json()
    assert body["name"] == "cpt-plugin"
    assert set(body["links"]) == {"fhir_r4", "fhir_r5", "cds_services", "sandbox", "sandbox_fhir", "openapi"}


def test_index__browser_gets_a_page_of_links(client) -> None:
    response = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.mimetype == "text/html"
    assert '<a href="/cds-services">' in response.get_data(as_text=True)


def test_index__leaves_out_the_sandbox_when_it_is_off(tmp_path: Path) -> None:
    app = create_app(
        {
            "storage": {"url": f"sqlite:///{tmp_path}/f.db"},
            "security": {
                "require_jwt": True,
                "issuers": [{"iss": "https://sandbox.cds-hooks.org", "jwks_file": str(SANDBOX_JWKS)}],
            },
        }
    )
    links = app.test_client().get("/").get_json()["links"]
    assert "sandbox" not in links and "sandbox_fhir" not in links
    assert links["cds_services"] == "/cds-services"


def test_index__served_over_real_http(live_server) -> None:
    response = requests.get(f"{live_server.url}/", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"


def test_settings__file_overrides_defaults_and_mapping_overrides_file(tmp_path: Path) -> None:
    config = tmp_path / "plugin.toml"
    config.write_text('[server]\nport = 9999\n[storage]\nurl = "sqlite:///from-file.db"\n')
    settings = load_settings({"storage": {"url": "sqlite:///from-mapping.db"}}, config)
    assert settings["server"]["port"] == 9999
    assert settings["server"]["host"] == DEFAULTS["server"]["host"]
    assert settings["storage"]["url"] == "sqlite:///from-mapping.db"


def test_settings__broken_toml_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "broken.toml"
    config.write_text("[server\nport = ")
    try:
        load_settings(config_file=config)
    except ConfigError as err:
        assert "broken.toml" in str(err)
    else:
        raise AssertionError("a broken TOML file must raise ConfigError")


def test_create_app__config_mapping_reaches_app(tmp_path: Path) -> None:
    app = create_app({"server": {"port": 1234}, "storage": {"url": f"sqlite:///{tmp_path}/f.db"}})
    assert app.config["PLUGIN"]["server"]["port"] == 1234
