"""`cpt-plugin replay` against a service that requires JWTs: each call signed with a fresh token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from plugin.cli import main
from tests.security.conftest import SANDBOX_ISS, LiveServer, Signer

SCENARIO = "under6-day-before-6th-birthday"


def pem_file(directory: Path, signer: Signer) -> Path:
    path = directory / "ehr-key.pem"
    path.write_bytes(signer.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return path


def test_replay__signed_with_the_trusted_key__passes(
    secure_server: LiveServer, signer: Signer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = pem_file(tmp_path, signer)
    args = ["replay", "--scenario", SCENARIO, "--hook", "order-select", "--hook", "order-sign"]
    signing = ["--jwt-key", str(key), "--jwt-iss", SANDBOX_ISS, "--jwt-kid", signer.kid]
    assert main([*args, "--url", secure_server.url, *signing]) == 0
    assert "2 of 2 runs got the expected cards" in capsys.readouterr().out


def test_replay__unsigned__is_refused_by_the_service(
    secure_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["replay", "--scenario", SCENARIO, "--url", secure_server.url])
    captured: Any = capsys.readouterr()
    assert status != 0
    assert "401" in captured.out + captured.err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--jwt-iss", SANDBOX_ISS], "--jwt-key, --jwt-iss and --jwt-kid go together"),
        (["--jwt-key", "/nonexistent.pem", "--jwt-iss", "x", "--jwt-kid", "k"], "not an unencrypted PEM"),
    ],
)
def test_replay__signing_options_misused__usage_error(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", "--scenario", SCENARIO, *extra]) == 2
    assert message in capsys.readouterr().err
