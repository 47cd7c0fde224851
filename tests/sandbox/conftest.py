"""Sandbox fixtures: an app serving the committed synthetic set plus a folder of imported patients."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from plugin.app import create_app

ROOT = Path(__file__).resolve().parents[2]
SYNTHETIC = ROOT / "fhir_bundles" / "synthetic"
SYNTHEA = ROOT / "tests" / "data" / "synthea"
# Debian's Chromium driven by Playwright (no browser download): see the stack notes.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def sandbox_settings(tmp_path: Path, imported: Path | None = None) -> dict[str, Any]:
    return {
        "storage": {"url": f"sqlite:///{tmp_path / 'feedback.db'}"},
        "security": {"require_jwt": False, "issuers": []},
        "sandbox": {"patients_dirs": [str(imported)] if imported else []},
        # These tests check which cards come back, not how fast: with --omit-prefetch the service fetches
        # from its own sandbox FHIR server, which a loaded CI machine can make slower than the 3 s default.
        "limits": {"fetch_timeout_seconds": 20.0, "fetch_total_seconds": 40.0},
    }


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    """The shared `app`, but with no imported folder, so only the committed synthetic set is served."""
    application = create_app(sandbox_settings(tmp_path))
    application.config["TESTING"] = True
    return application


def synthea_files() -> list[Path]:
    files = sorted(SYNTHEA.glob("*.json"))
    assert files, f"no Synthea samples in {SYNTHEA}"
    return files


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


ISSUER = "https://ehr.test.example"


class Issuer:
    """A generated ES384 key configured as the trusted issuer; mints CDS Hooks client JWTs."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        self.key = ec.generate_private_key(ec.SECP384R1())
        self.kid = f"sandbox-test-{uuid.uuid4()}"

    def jwks(self) -> dict[str, Any]:
        from jwt.algorithms import ECAlgorithm

        public = ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "ES384"}]}

    def token(self, aud: str) -> str:
        import jwt

        now = int(time.time())
        claims = {"iss": ISSUER, "sub": "sandbox-tester", "aud": aud, "iat": now, "exp": now + 300}
        claims["jti"] = str(uuid.uuid4())
        return jwt.encode(claims, self.key, algorithm="ES384", headers={"kid": self.kid, "typ": "JWT"})


def production_app(tmp_path: Path, issuer: Issuer, *, sandbox: str = "", require_jwt: bool = True) -> Flask:
    """The app from a real TOML file in production mode (issuer configured), as a site would run it."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "jwks.json").write_text(json.dumps(issuer.jwks()))
    config = tmp_path / "plugin.toml"
    config.write_text(
        f"""
[security]
require_jwt = {str(require_jwt).lower()}

[[security.issuers]]
iss = "{ISSUER}"
jwks_file = "jwks.json"

[storage]
url = "sqlite:///{tmp_path / "feedback.db"}"

[audit]
log = "off"

[sandbox]
patients_dirs = []
{sandbox}
"""
    )
    application = create_app(config_file=config)
    application.config["TESTING"] = True
    return application
