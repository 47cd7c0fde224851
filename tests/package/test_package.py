"""`cpt-plugin package`: a FHIR NPM package of every published resource, byte-identical on every build,
loaded back by our own registry and by fhir-package-loader (the loader SUSHI uses) from local disk."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from plugin.cli import main
from plugin.publish.package import build_package, published_resources
from plugin.terminology.model.registry import CONFORMANCE_TYPES, load_registry

ROOT = Path(__file__).resolve().parents[2]
FHIR_BUNDLES = ROOT / "fhir_bundles"
FPL = ROOT / "tools" / "fpl"


def source_resources() -> dict[tuple[str, str], dict[str, Any]]:
    """Every published resource read straight from the files (the synthetic Bundles are not published)."""
    found = {}
    for path in sorted(FHIR_BUNDLES.rglob("*.json")):
        if "synthetic" in path.relative_to(FHIR_BUNDLES).parts:
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        found[(data["resourceType"], data["id"])] = data
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("package")
    assert main(["package", "--out", str(out)]) == 0
    return out


def members(tgz: Path) -> dict[str, bytes]:
    with tarfile.open(tgz, "r:gz") as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers()}  # type: ignore[union-attr]


def test_every_published_resource_and_nothing_else(built: Path) -> None:
    files = members(built / "package.tgz")
    expected = source_resources()
    assert len(expected) >= 30
    packaged = {
        name: json.loads(data)
        for name, data in files.items()
        if name not in {"package/package.json", "package/.index.json"}
    }
    assert {(r["resourceType"], r["id"]) for r in packaged.values()} == set(expected)
    for name, resource in packaged.items():
        assert name == f"package/{resource['resourceType']}-{resource['id']}.json"
        assert resource == expected[(resource["resourceType"], resource["id"])]
        assert resource["resourceType"] in CONFORMANCE_TYPES
    assert not any(r["resourceType"] in {"Patient", "Bundle"} for r in packaged.values())
    # The unpacked folder holds the same bytes as the tarball.
    for name, data in files.items():
        assert (built / name).read_bytes() == data


def test_manifest_follows_the_fhir_package_spec(built: Path) -> None:
    manifest = json.loads((built / "package" / "package.json").read_text(encoding="utf-8"))
    assert manifest["name"] == "cpt-plugin.ecmo"
    assert manifest["version"] == "0.1.0"  # the version our own resources carry
    assert manifest["fhirVersions"] == ["4.0.1"]
    assert manifest["type"] == "Conformance"
    assert manifest["canonical"] == "https://fhir.cpt-plugin.org"
    assert manifest["dependencies"] == {"hl7.fhir.r4.core": "4.0.1"}
    assert manifest["license"] == "Apache-2.0"
    assert len(manifest["date"]) == 14 and manifest["date"].isdigit()


def test_index_lists_each_file_with_its_identity(built: Path) -> None:
    index = json.loads((built / "package" / ".index.json").read_text(encoding="utf-8"))
    assert index["index-version"] == 2
    listed = {entry["filename"]: entry for entry in index["files"]}
    on_disk = {p.name for p in (built / "package").glob("*.json")} - {"package.json", ".index.json"}
    assert set(listed) == on_disk
    for filename, entry in listed.items():
        resource = json.loads((built / "package" / filename).read_text(encoding="utf-8"))
        for key in ("resourceType", "id", "url", "version"):
            assert entry[key] == resource[key], (filename, key)
        if resource["resourceType"] == "CodeSystem":
            assert entry["content"] == resource["content"]
        assert "kind" not in entry or entry["kind"] == resource.get("kind")


def test_same_content_same_bytes(built: Path, tmp_path: Path) -> None:
    assert main(["package", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "package.tgz").read_bytes() == (built / "package.tgz").read_bytes()
    tgz = (built / "package.tgz").read_bytes()
    assert tgz[:2] == b"\x1f\x8b" and tgz[4:8] == b"\0\0\0\0"  # gzip header without a time
    with tarfile.open(built / "package.tgz", "r:gz") as archive:
        infos = archive.getmembers()
    assert [i.name for i in infos[:2]] == ["package/package.json", "package/.index.json"]
    assert [i.name for i in infos[2:]] == sorted(i.name for i in infos[2:])
    assert {(i.mtime, i.uid, i.gid, i.uname, i.gname, i.mode) for i in infos} == {
        (499162500, 0, 0, "", "", 0o644)
    }


def test_a_changed_resource_changes_the_package(tmp_path: Path) -> None:
    resources = published_resources([FHIR_BUNDLES])
    before = build_package(resources)
    changed = [
        dict(r, title=r.get("title", "") + " (edited)") if r["id"] == "ecmo-age-band" else r
        for r in resources
    ]
    after = build_package(changed)
    differing = [name for name in before.files if before.files[name] != after.files[name]]
    assert differing == ["package/CodeSystem-ecmo-age-band.json", "package/ConceptMap-ecmo-age-band.json"]


def test_our_registry_loads_the_package_back(built: Path) -> None:
    registry = load_registry([], [built / "package.tgz"])
    expected = source_resources()
    for (rtype, rid), resource in expected.items():
        assert registry.by_id(rtype, rid) == resource
        assert registry.get(resource["url"], resource["version"]) == resource


def test_the_package_validates(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--only", str(built / "package.tgz")]) == 0
    assert "0 errors" in capsys.readouterr().out


def test_unversioned_mix_is_refused_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = tmp_path / "content"
    content.mkdir()
    for name, version in (("a", "0.1.0"), ("b", "0.2.0")):
        resource = {
            "resourceType": "ValueSet",
            "id": name,
            "url": f"https://fhir.cpt-plugin.org/ValueSet/{name}",
            "version": version,
            "status": "active",
        }
        (content / f"{name}.json").write_text(json.dumps(resource), encoding="utf-8")
    assert main(["package", "--out", str(tmp_path / "out"), "--content", str(content)]) == 1
    assert "0.1.0, 0.2.0" in capsys.readouterr().err
    assert (
        main(["package", "--out", str(tmp_path / "out"), "--content", str(content), "--version", "1.0.0"])
        == 0
    )
    manifest = json.loads((tmp_path / "out" / "package" / "package.json").read_text(encoding="utf-8"))
    assert manifest["version"] == "1.0.0"


def test_fhir_package_loader_finds_every_resource_by_canonical_url(built: Path, tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "node is missing: `make test-deps` installs Debian's nodejs"
    assert (FPL / "node_modules" / "fhir-package-loader").is_dir(), (
        "fhir-package-loader is missing: `make test` installs it (npm ci --prefix tools/fpl)"
    )
    expected = source_resources()
    urls = sorted({r["url"] for r in expected.values()})
    result = subprocess.run(
        [node, str(FPL / "load-package.js"), str(built / "package.tgz"), "cpt-plugin.ecmo", "0.1.0",
         str(tmp_path / "fhir-cache"), *urls],
        capture_output=True, text=True, timeout=120, check=False, cwd=FPL,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["loaded"], report["logs"]
    assert report["refused"] == []  # nothing was asked of a registry or build server
    assert report["packageJSON"]["name"] == "cpt-plugin.ecmo"
    assert report["resourceCount"] == len(expected)
    for url in urls:
        found = report["found"][url]
        assert found is not None, f"fhir-package-loader did not find {url}"
        assert found["url"] == url
        assert (found["resourceType"], found["id"]) in expected


def test_a_server_on_the_package_alone_answers_as_on_the_folder(built: Path, tmp_path: Path) -> None:
    """[content] packages = [package.tgz] with an empty fhir_bundles: the terminology API and the code
    pages answer exactly as they do from fhir_bundles/."""
    from plugin.app import create_app
    from tests.conftest import test_settings as base_settings

    empty = tmp_path / "empty"
    empty.mkdir()
    on_package = base_settings(tmp_path / "a") | {
        "content": {"fhir_bundles": str(empty), "packages": [str(built / "package.tgz")]}
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    clients = [create_app(on_package).test_client(), create_app(base_settings(tmp_path / "b")).test_client()]
    lookup = "/fhir/CodeSystem/$lookup?system=http://www.ama-assn.org/go/cpt&code=33952"
    json_page = {"Accept": "application/json"}
    package_answers, folder_answers = (
        (c.get(lookup).get_json(), c.get("/codes/33952", headers=json_page).get_json()) for c in clients
    )
    assert package_answers == folder_answers
    assert package_answers[1]["modifiers"]["rows"]
