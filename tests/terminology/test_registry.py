"""The registry indexes by url and url|version, layers per-request overlays, and reads packages."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from plugin.terminology.model.registry import LoadError, Registry, iter_directory, iter_package


def code_system(version: str, url: str = "http://example.org/cs") -> dict:
    return {"resourceType": "CodeSystem", "id": f"cs-{version}", "url": url, "version": version}


def test_get__without_version_picks_highest_numeric_version() -> None:
    registry = Registry()
    for version in ("1.0.0", "10.0.0", "2.0.0"):
        registry.add(code_system(version))
    assert registry.get("http://example.org/cs")["version"] == "10.0.0"
    assert registry.get("http://example.org/cs|2.0.0")["version"] == "2.0.0"
    assert registry.get("http://example.org/cs", "3.0.0") is None


def test_overlay__sees_its_own_first_and_leaves_parent_untouched() -> None:
    shared = Registry()
    shared.add(code_system("1.0.0"))
    request = shared.overlay()
    request.add(code_system("1.0.0") | {"title": "from the request"})
    assert request.get("http://example.org/cs|1.0.0")["title"] == "from the request"
    assert "title" not in shared.get("http://example.org/cs|1.0.0")


def test_add__rejects_non_terminology_resources() -> None:
    with pytest.raises(LoadError, match="Patient"):
        Registry().add({"resourceType": "Patient", "id": "p"})


def test_iter_directory__bad_json_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(LoadError, match="broken.json"):
        list(iter_directory(tmp_path))


def test_iter_package__reads_resources_and_skips_package_manifest(tmp_path: Path) -> None:
    tarball = tmp_path / "site.cpt-2026.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        for name, body in {
            "package/package.json": {"name": "site.cpt", "version": "2026.0.0"},
            "package/CodeSystem-cpt.json": code_system("2026", "http://www.ama-assn.org/go/cpt"),
        }.items():
            data = json.dumps(body).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    loaded = list(iter_package(tarball))
    assert [r["url"] for r, _ in loaded] == ["http://www.ama-assn.org/go/cpt"]
    assert loaded[0][1].endswith("!package/CodeSystem-cpt.json")
