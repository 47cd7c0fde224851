"""Sandbox fixtures: an app serving the committed synthetic set plus a folder of imported patients."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from plugin.app import create_app

ROOT = Path(__file__).resolve().parents[2]
SYNTHETIC = ROOT / "fhir_bundles" / "synthetic"
SYNTHEA = ROOT.parent / "shared" / "synthea"


def sandbox_settings(tmp_path: Path, imported: Path | None = None) -> dict[str, Any]:
    return {
        "storage": {"url": f"sqlite:///{tmp_path / 'feedback.db'}"},
        "security": {"require_jwt": False, "issuers": []},
        "sandbox": {"patients_dirs": [str(imported)] if imported else []},
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
