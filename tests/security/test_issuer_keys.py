"""Issuer key sets: the public CDS Hooks Sandbox JWKS loads as a trusted issuer; keys fetched from an
allowlisted jku work; nothing else is fetched; unusable key sets stop the app at start-up."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import requests

from plugin.app import create_app
from plugin.config import ConfigError
from plugin.security import VERIFIER_KEY
from tests.security.conftest import (
    SANDBOX_ISS,
    SANDBOX_JWKS,
    SANDBOX_KID,
    Recorder,
    es384_signer,
    rs384_signer,
    write_config,
)


def sandbox_config(tmp_path: Path, extra_issuer: str = "") -> Path:
    shutil.copy(SANDBOX_JWKS, tmp_path / "sandbox-jwks.json")
    return write_config(
        tmp_path,
        f"""
[security]
require_jwt = true
[[security.issuers]]
iss = "{SANDBOX_ISS}"
jwks_file = "sandbox-jwks.json"
{extra_issuer}
[storage]
url = "sqlite:///{tmp_path / "f.db"}"
[audit]
log = "off"
""",
    )


def test_sandbox_jwks_file__loads_as_the_trusted_key_set(tmp_path: Path) -> None:
    app = create_app(config_file=sandbox_config(tmp_path))
    issuer = app.extensions[VERIFIER_KEY].issuers[SANDBOX_ISS]
    assert set(issuer.static_keys) == {SANDBOX_KID}
    key = issuer.static_keys[SANDBOX_KID]
    assert key.algorithms == {"ES384"}
    assert key.key.curve.name == "secp384r1"


def test_forged_signature_under_the_sandbox_kid__401(tmp_path: Path, serve) -> None:
    server = serve(create_app(config_file=sandbox_config(tmp_path)))
    forger = es384_signer(kid=SANDBOX_KID)
    token = forger.token(f"{server.url}/cds-services", headers={"jku": None})
    response = requests.get(
        f"{server.url}/cds-services", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert response.status_code == 401


def test_key_from_allowlisted_jku__accepted(tmp_path: Path, serve) -> None:
    """The issuer rotates to a key that is not in its file; the allowlisted jku serves it."""
    rotated = rs384_signer()
    recorder = Recorder(body=json.dumps(rotated.jwks()).encode())
    jwks_host = serve(recorder)
    jku = f"{jwks_host.url}/.well-known/jwks.json"
    server = serve(create_app(config_file=sandbox_config(tmp_path, f'jku_allowlist = ["{jku}"]')))
    for _ in range(2):
        token = rotated.token(f"{server.url}/cds-services", headers={"jku": jku})
        response = requests.get(
            f"{server.url}/cds-services", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        assert response.status_code == 200, response.text
    # Fetched once, then served from the cache.
    assert [r["path"] for r in recorder.requests] == ["/.well-known/jwks.json"]


def test_allowlisted_jku_redirecting_elsewhere__not_followed(tmp_path: Path, serve) -> None:
    rotated = es384_signer()
    target = Recorder(body=json.dumps(rotated.jwks()).encode())
    target_host = serve(target)

    def redirector(environ, start_response):
        start_response("302 Found", [("Location", f"{target_host.url}/jwks.json")])
        return [b""]

    jku_host = serve(redirector)
    jku = f"{jku_host.url}/jwks.json"
    server = serve(create_app(config_file=sandbox_config(tmp_path, f'jku_allowlist = ["{jku}"]')))
    token = rotated.token(f"{server.url}/cds-services", headers={"jku": jku})
    response = requests.get(
        f"{server.url}/cds-services", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert response.status_code == 401
    assert target.requests == []


@pytest.mark.parametrize(
    ("jwks", "message"),
    [
        ({"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]}, "symmetric"),
        ({"keys": [{**json.loads(SANDBOX_JWKS.read_text())["keys"][0], "alg": "HS256"}]}, "HS256"),
        (
            {
                "keys": [
                    {k: v for k, v in json.loads(SANDBOX_JWKS.read_text())["keys"][0].items() if k != "kid"}
                ]
            },
            "kid",
        ),
        ({"keys": [{**json.loads(SANDBOX_JWKS.read_text())["keys"][0], "d": "AAAA"}]}, "private"),
        ({"nokeys": []}, "keys"),
    ],
)
def test_unusable_jwks_file__config_error_naming_the_key(tmp_path: Path, jwks: dict, message: str) -> None:
    (tmp_path / "bad.json").write_text(json.dumps(jwks))
    config = write_config(
        tmp_path,
        f'[security]\nrequire_jwt = true\n[[security.issuers]]\niss = "x"\njwks_file = "bad.json"\n'
        f'[storage]\nurl = "sqlite:///{tmp_path}/f.db"\n',
    )
    with pytest.raises(ConfigError) as err:
        create_app(config_file=config)
    assert "security.issuers[0].jwks_file" in str(err.value)
    assert message in str(err.value)


def test_missing_jwks_file__config_error_with_the_path(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        '[security]\nrequire_jwt = true\n[[security.issuers]]\niss = "x"\njwks_file = "keys/none.json"\n'
        f'[storage]\nurl = "sqlite:///{tmp_path}/f.db"\n',
    )
    with pytest.raises(
        ConfigError, match=r"security\.issuers\[0\]\.jwks_file: file not found: .*keys/none\.json"
    ):
        create_app(config_file=config)


def test_inline_jwks__works_like_a_file(tmp_path: Path, serve) -> None:
    signer = rs384_signer()
    jwk = signer.public_jwk()
    inline = ", ".join(f'{k} = "{v}"' for k, v in jwk.items())
    config = write_config(
        tmp_path,
        f'[security]\nrequire_jwt = true\n[[security.issuers]]\niss = "{signer.iss}"\n'
        f"jwks = {{ keys = [ {{ {inline} }} ] }}\n"
        f'[storage]\nurl = "sqlite:///{tmp_path}/f.db"\n[audit]\nlog = "off"\n',
    )
    server = serve(create_app(config_file=config))
    token = signer.token(f"{server.url}/cds-services")
    response = requests.get(
        f"{server.url}/cds-services", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert response.status_code == 200, response.text
