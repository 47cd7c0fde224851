"""Only configured (or, in development mode, loopback) FHIR bases may be fetched."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin.app import create_app
from plugin.security.fetch_policy import allowed_fhir_base
from tests.security.conftest import SANDBOX_JWKS


@pytest.mark.parametrize(
    ("base", "allowed"),
    [
        ("http://127.0.0.1:9090/fhir", True),
        ("http://localhost/fhir", True),
        ("http://[::1]:8000/fhir", True),
        ("http://10.0.0.5/fhir", False),
        ("http://169.254.169.254/latest", False),
        ("https://ehr.example.org/fhir", False),
        ("file:///etc/passwd", False),
        ("http://user:pw@127.0.0.1/fhir", False),
    ],
)
def test_development_mode__only_loopback(tmp_path: Path, base: str, allowed: bool) -> None:
    app = create_app({"storage": {"url": f"sqlite:///{tmp_path}/f.db"}})
    assert allowed_fhir_base(app, base, None) is allowed


def test_issuer__only_its_own_fhir_servers(tmp_path: Path) -> None:
    app = create_app(
        {
            "storage": {"url": f"sqlite:///{tmp_path}/f.db"},
            "security": {
                "require_jwt": True,
                "issuers": [
                    {
                        "iss": "https://ehr.example.org",
                        "jwks_file": str(SANDBOX_JWKS),
                        "fhir_servers": ["https://ehr.example.org/fhir/"],
                    }
                ],
            },
        }
    )
    assert allowed_fhir_base(app, "https://ehr.example.org/fhir", "https://ehr.example.org")
    assert not allowed_fhir_base(app, "https://other.example.org/fhir", "https://ehr.example.org")
    assert not allowed_fhir_base(app, "https://ehr.example.org/fhir", "https://unknown.example.org")
    assert not allowed_fhir_base(app, "http://127.0.0.1/fhir", None)
