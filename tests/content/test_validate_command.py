"""`cpt-plugin validate`: passes on the real content, fails precisely on each kind of breakage."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from plugin.cli import main

ROOT = Path(__file__).resolve().parents[2]
CPT = "http://www.ama-assn.org/go/cpt"
AGE_BAND = "https://fhir.cpt-plugin.org/CodeSystem/ecmo-age-band"
P1 = "urn:uuid:0b9f3a52-6c1e-4f6e-9a55-2d0f2f0f4e11"
S1 = "urn:uuid:1c0e4b63-7d2f-4a7f-8b66-3e1a3a1a5f22"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["validate", *args])
    return code, capsys.readouterr().out.splitlines()


def test_real_content_passes_with_no_problem_printed(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(capsys)
    assert code == 0
    assert len(lines) == 1
    assert lines[0].startswith("OK: ") and " 0 errors" in lines[0]
    assert int(lines[0].split()[1]) >= 30  # files checked


def test_published_terminology_has_not_even_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    folders = [
        str(ROOT / "fhir_bundles" / f) for f in ("codesystems", "valuesets", "conceptmaps", "questionnaires")
    ]
    code, lines = run(capsys, "--only", "--warnings", *folders)
    assert code == 0
    assert lines == [lines[-1]] and "0 errors, 0 warnings" in lines[-1]


def test_the_console_script_passes_on_the_real_content() -> None:
    script = Path(sys.executable).with_name("cpt-plugin")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "plugin.cli"]
    result = subprocess.run([*command, "validate"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("OK: ")


def edit(name: str, change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        path = root / name
        data = json.loads(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(json.dumps(data), encoding="utf-8")

    return apply


def write(name: str, text: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")

    return apply


def transaction(*entries: dict[str, Any]) -> str:
    return json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": list(entries)})


PATIENT = {
    "fullUrl": P1,
    "resource": {"resourceType": "Patient", "birthDate": "1980-05-01"},
    "request": {"method": "POST", "url": "Patient"},
}


def service_request(subject: str, code: str = "33952") -> dict[str, Any]:
    return {
        "fullUrl": S1,
        "request": {"method": "POST", "url": "ServiceRequest"},
        "resource": {
            "resourceType": "ServiceRequest",
            "status": "draft",
            "intent": "order",
            "subject": {"reference": subject},
            "code": {"coding": [{"system": CPT, "code": code}]},
        },
    }


def _set(path: list[str | int], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        node: Any = data
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value

    return change


def _append_property(data: dict[str, Any]) -> None:
    data["concept"][5]["property"].append({"code": "weight-min", "valueInteger": 3})


def _drop_source(data: dict[str, Any]) -> None:
    data["concept"][0]["property"] = [p for p in data["concept"][0]["property"] if p["code"] != "source"]


BREAKAGES = {
    "code not in CPT": (
        edit(
            "valuesets/ecmo-ecls-family.json",
            _set(["compose", "include", 0, "concept", 3], {"code": "33999"}),
        ),
        "valuesets/ecmo-ecls-family.json: ValueSet.compose.include[0].concept[3].code: "
        f"'33999' is not in {CPT}",
    ),
    "invalid JSON": (
        write("valuesets/broken.json", '{"resourceType": "ValueSet",'),
        "valuesets/broken.json: line 1 column 29: invalid JSON",
    ),
    "unknown resource type": (
        edit("valuesets/ecmo-mode.json", _set(["resourceType"], "ValueSett")),
        "valuesets/ecmo-mode.json: ValueSett: resourceType 'ValueSett' is not a FHIR R4 resource type",
    ),
    "model error with element path": (
        edit("valuesets/ecmo-mode.json", _set(["date"], "yesterday")),
        "valuesets/ecmo-mode.json: ValueSet.date: DateTime value string does not match spec regex. "
        "(got 'yesterday')",
    ),
    "unknown element": (
        edit("codesystems/ecmo-age-band.json", _set(["concept", 0, "displayy"], "x")),
        "codesystems/ecmo-age-band.json: CodeSystem.concept[0].displayy: unknown element",
    ),
    "status outside its required binding": (
        edit("codesystems/ecmo-age-band.json", _set(["status"], "published")),
        "codesystems/ecmo-age-band.json: CodeSystem.status: 'published' is not one of",
    ),
    "duplicate url|version": (
        lambda root: shutil.copy(root / "valuesets/ecmo-mode.json", root / "valuesets/ecmo-mode-copy.json"),
        "ValueSet.url: https://fhir.cpt-plugin.org/ValueSet/ecmo-mode|0.1.0 is also defined in",
    ),
    "undeclared property": (
        edit("codesystems/cpt-ecmo-fragment.json", _append_property),
        "codesystems/cpt-ecmo-fragment.json: CodeSystem.concept[5].property[8]: property 'weight-min' is not "
        "declared in CodeSystem.property",
    ),
    "concept without source": (
        edit("codesystems/cpt-ecmo-fragment.json", _drop_source),
        "codesystems/cpt-ecmo-fragment.json: CodeSystem.concept[0]: concept '33946' has no 'source' property",
    ),
    "dependsOn value not in its code system": (
        edit(
            "conceptmaps/ecmo-age-band.json",
            _set(["group", 0, "element", 0, "target", 0, "dependsOn", 0, "value"], "teen"),
        ),
        f"ConceptMap.group[0].element[0].target[0].dependsOn[0].value: 'teen' is not in {AGE_BAND}",
    ),
    "ConceptMap target not in CPT": (
        edit(
            "conceptmaps/ecmo-age-band.json", _set(["group", 0, "element", 0, "target", 0, "code"], "33999")
        ),
        f"ConceptMap.group[0].element[0].target[0].code: '33999' is not in {CPT}",
    ),
    "answerValueSet that does not resolve": (
        edit(
            "questionnaires/ecmo-cannulation-note.json",
            _set(["item", 2, "answerValueSet"], "https://fhir.cpt-plugin.org/ValueSet/nope"),
        ),
        "Questionnaire.item[2].answerValueSet: https://fhir.cpt-plugin.org/ValueSet/nope does not "
        "resolve to a ValueSet in this content",
    ),
    "Questionnaire item code not in the documentation code system": (
        edit("questionnaires/ecmo-cannulation-note.json", _set(["item", 2, "code", 0, "code"], "mode")),
        "Questionnaire.item[2].code[0].code: 'mode' is not in "
        "https://fhir.cpt-plugin.org/CodeSystem/ecmo-documentation-element",
    ),
    "value set over a missing code system of ours": (
        edit(
            "valuesets/ecmo-mode.json",
            _set(["compose", "include", 0, "system"], "https://fhir.cpt-plugin.org/CodeSystem/ecmo-modes"),
        ),
        "ValueSet.compose.include[0].system: https://fhir.cpt-plugin.org/CodeSystem/ecmo-modes is not "
        "a CodeSystem",
    ),
    "urn:uuid reference to no entry": (
        write(
            "synthetic/patient.json",
            transaction(PATIENT, service_request("urn:uuid:ffff3a52-6c1e-4f6e-9a55-2d0f2f0f4e11")),
        ),
        "synthetic/patient.json: Bundle.entry[1].resource.subject.reference: "
        "urn:uuid:ffff3a52-6c1e-4f6e-9a55-2d0f2f0f4e11 matches no entry's fullUrl",
    ),
    "transaction entry without request": (
        write("synthetic/patient.json", transaction({k: v for k, v in PATIENT.items() if k != "request"})),
        "synthetic/patient.json: Bundle.entry[0].request: transaction and batch entries need "
        "request.method and request.url",
    ),
    "invalid resource inside a Bundle": (
        write(
            "synthetic/patient.json",
            transaction({**PATIENT, "resource": {"resourceType": "Patient", "birthDate": "1980-13-40"}}),
        ),
        "synthetic/patient.json: Bundle.entry[0].resource.birthDate: Date value string does not match "
        "spec regex.",
    ),
}


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(ROOT / "fhir_bundles", target)
    return target


@pytest.mark.parametrize("kind", sorted(BREAKAGES))
def test_a_broken_copy_fails_with_a_precise_message(
    capsys: pytest.CaptureFixture[str], copy: Path, kind: str
) -> None:
    breakage, expected = BREAKAGES[kind]
    breakage(copy)
    code, lines = run(capsys, "--only", str(copy))
    assert code == 1
    assert any(expected in line for line in lines), "\n".join(lines)
    assert lines[-1].startswith("FAILED: ") and " 0 errors" not in lines[-1]


def test_extra_folder_of_synthetic_bundles_is_checked_with_the_published_content(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write("synthetic/ok.json", transaction(PATIENT, service_request(P1)))(tmp_path)
    code, lines = run(capsys, str(tmp_path))
    assert code == 0, lines
    published = len(list((ROOT / "fhir_bundles").rglob("*.json")))
    assert lines[-1].startswith(f"OK: {published + 1} files")


def test_a_cpt_code_outside_the_fragment_is_only_a_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write("synthetic/other.json", transaction(PATIENT, service_request(P1, code="99291")))(tmp_path)
    code, lines = run(capsys, "--warnings", str(tmp_path))
    assert code == 0
    about_this_file = [line for line in lines if line.startswith(str(tmp_path))]
    assert len(about_this_file) == 1
    assert "'99291' is not in the fragment of http://www.ama-assn.org/go/cpt" in about_this_file[0]
    assert "0 errors" in lines[-1]


def test_only_without_a_path_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--only"]) == 2
    assert "--only needs at least one PATH" in capsys.readouterr().err


def test_an_empty_folder_is_reported(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, lines = run(capsys, "--only", "--warnings", str(tmp_path))
    assert code == 0
    assert lines[0] == f"{tmp_path}: warning: no *.json files or packages here"


def test_a_missing_folder_is_an_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, lines = run(capsys, "--only", str(tmp_path / "nowhere"))
    assert code == 1
    assert lines[0] == f"{tmp_path / 'nowhere'}: no such file or folder"


def test_a_package_tarball_is_opened_and_checked_with_our_content(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    value_set = json.loads((ROOT / "fhir_bundles/valuesets/ecmo-mode.json").read_text(encoding="utf-8"))
    value_set.update(url="https://example.org/ValueSet/site-modes", publisher="Example site")
    value_set["compose"]["include"][0]["concept"].append({"code": "ECPR"})
    member = tmp_path / "ValueSet-site-modes.json"
    member.write_text(json.dumps(value_set), encoding="utf-8")
    package = tmp_path / "site.tgz"
    with tarfile.open(package, "w:gz") as archive:
        archive.add(member, arcname="package/ValueSet-site-modes.json")
    member.unlink()
    code, lines = run(capsys, str(package))
    assert code == 1
    assert any(
        line.startswith(
            f"{package}!package/ValueSet-site-modes.json: ValueSet.compose.include[0].concept[2].code: "
            "'ECPR' is not in https://fhir.cpt-plugin.org/CodeSystem/ecmo-procedure-axis"
        )
        for line in lines
    ), lines
