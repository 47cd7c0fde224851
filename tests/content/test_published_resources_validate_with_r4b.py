"""Every published resource validates with the fhir.resources R4B models and carries its metadata."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(p for p in (ROOT / "fhir_bundles").rglob("*.json") if "synthetic" not in p.parts)
OURS = "https://fhir.cpt-plugin.org/"


def test_there_is_content() -> None:
    assert len(FILES) >= 25


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_resource_validates_with_the_r4b_model(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    model = get_fhir_model_class(data["resourceType"]).model_validate(data)
    assert model.get_resource_type() == data["resourceType"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_resource_carries_id_url_version_status_date_publisher_and_sources(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    for element in ("id", "url", "version", "name", "title", "date", "publisher", "description"):
        assert data.get(element), element
    assert data["status"] in {"active", "draft"}
    assert data["experimental"] is False
    assert data["publisher"] == "cpt-plugin"
    assert path.stem == data["id"] or data["url"].startswith("http") and not data["url"].startswith(OURS)
    if data["url"].startswith(OURS):
        assert data["version"] == "0.1.0"
        assert data["url"] == f"{OURS}{data['resourceType']}/{data['id']}"
    assert re.search(r"[Ss]ources?\b", data["description"]), "the description names its sources"


def test_readme_lists_every_resource_with_its_url_and_version() -> None:
    readme = (ROOT / "fhir_bundles" / "README.md").read_text(encoding="utf-8")
    for path in FILES:
        data = json.loads(path.read_text(encoding="utf-8"))
        name = f"| `{path.relative_to(ROOT / 'fhir_bundles')}` |"
        row = next((line for line in readme.splitlines() if line.startswith(name)), None)
        assert row, f"{path.name} is not in fhir_bundles/README.md"
        assert f"`{data['url']}`" in row and f"`{data['version']}`" in row, path.name
