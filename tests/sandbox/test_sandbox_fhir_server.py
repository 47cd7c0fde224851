"""/sandbox/fhir over real HTTP: reads, the prefetch searches, and OperationOutcome errors."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from plugin.sandbox.bundles import get_scenario
from plugin.sandbox.hookrequest import CONTRACT_PREFETCH, fill_template

from .conftest import SYNTHETIC

FHIR_JSON = "application/fhir+json"


def _scenario(name: str):
    return get_scenario(json.loads((SYNTHETIC / f"{name}.json").read_text()))


def test_read__patient_and_encounter__resources_with_server_references(live_server) -> None:
    scenario = _scenario("under6-day-before-6th-birthday")
    base = f"{live_server.url}/sandbox/fhir"
    patient = requests.get(f"{base}/Patient/{scenario.patient_id}", timeout=10)
    assert patient.status_code == 200
    assert patient.headers["Content-Type"].startswith(FHIR_JSON)
    assert patient.json()["id"] == scenario.patient_id and patient.json()["birthDate"] == "2020-11-26"
    encounter = requests.get(f"{base}/Encounter/{scenario.encounter_id}", timeout=10).json()
    assert encounter["subject"] == {"reference": f"Patient/{scenario.patient_id}"}


def test_prefetch_queries__every_contract_template__answered_for_every_scenario(live_server) -> None:
    base = f"{live_server.url}/sandbox/fhir"
    for path in sorted(SYNTHETIC.glob("*.json")):
        scenario = get_scenario(json.loads(path.read_text()))
        context = {"patientId": scenario.patient_id, "encounterId": scenario.encounter_id}
        for key, template in CONTRACT_PREFETCH.items():
            response = requests.get(f"{base}/{fill_template(template, context)}", timeout=10)
            assert response.status_code == 200, (path.name, key, response.text)
            body = response.json()
            if "?" in template:
                assert body["resourceType"] == "Bundle" and body["type"] == "searchset"
                assert body["total"] == len(body.get("entry", []))
                for entry in body["entry"]:
                    assert entry["search"] == {"mode": "match"}
                    assert entry["fullUrl"].endswith(
                        f"{entry['resource']['resourceType']}/{entry['resource']['id']}"
                    )


def test_search__filters_by_status_and_patient(live_server) -> None:
    base = f"{live_server.url}/sandbox/fhir"
    no_consent = _scenario("missing-consent")
    with_consent = _scenario("adult-aetna")
    resolved_only = _scenario("missing-indication")

    def total(query: str) -> int:
        response = requests.get(f"{base}/{query}", timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["total"]

    assert total(f"Consent?patient={no_consent.patient_id}&status=active") == 0
    assert total(f"Consent?patient={with_consent.patient_id}&status=active") == 1
    assert total(f"Consent?patient=Patient/{with_consent.patient_id}") == 1
    assert total(f"Condition?patient={resolved_only.patient_id}&clinical-status=active") == 0
    assert total(f"Condition?patient={resolved_only.patient_id}") == 1
    assert total(f"Condition?patient={with_consent.patient_id}&clinical-status=active") == 1
    assert total(f"Coverage?patient={with_consent.patient_id}&status=active") == 1
    assert total(f"Coverage?patient={with_consent.patient_id}&status=cancelled") == 0
    assert total("Coverage?status=active") == len(list(SYNTHETIC.glob("*.json")))
    assert total(f"ServiceRequest?patient={_scenario('addon-33987-alongside').patient_id}&status=draft") == 2
    assert total("ServiceRequest?code=http://www.ama-assn.org/go/cpt|33987") == 1
    assert total(f"Patient?_id={with_consent.patient_id},{no_consent.patient_id}") == 2
    assert total("Practitioner?_count=3") == 3


def test_errors__operation_outcome_with_4xx(live_server) -> None:
    base = f"{live_server.url}/sandbox/fhir"
    cases = [
        ("Patient/does-not-exist", 404, "not-found"),
        ("Coverage?insurer=x", 400, "invalid"),
        ("Coverage?patient:missing=true", 400, "invalid"),
        ("Observation?patient=x", 404, "not-supported"),
        ("Coverage?_count=-1", 400, "invalid"),
    ]
    for query, status, code in cases:
        response = requests.get(f"{base}/{query}", timeout=10)
        assert response.status_code == status, query
        body = response.json()
        assert body["resourceType"] == "OperationOutcome"
        assert body["issue"][0]["code"] == code and body["issue"][0]["details"]["text"]
    assert requests.delete(f"{base}/Patient/x", timeout=10).status_code == 405


def test_metadata__capability_statement_lists_searches(live_server) -> None:
    body = requests.get(f"{live_server.url}/sandbox/fhir/metadata", timeout=10).json()
    assert body["resourceType"] == "CapabilityStatement" and body["fhirVersion"] == "4.0.1"
    coverage = next(r for r in body["rest"][0]["resource"] if r["type"] == "Coverage")
    assert {"patient", "status"} <= {p["name"] for p in coverage["searchParam"]}


def test_store__imported_folder_served_and_bad_files_skipped(tmp_path: Path, serve) -> None:
    from plugin.app import create_app
    from plugin.cli import main

    from .conftest import sandbox_settings, synthea_files

    imported = tmp_path / "imported"
    main(
        [
            "import",
            str(synthea_files()[0]),
            "--age-on-order",
            "5y11m",
            "--order-date",
            "2026-11-25",
            "--out",
            str(imported),
        ]
    )
    (imported / "not-a-bundle.json").write_text("[1, 2]")
    app = create_app(sandbox_settings(tmp_path, imported))
    server = serve(app)
    bundle = json.loads(next(imported.glob("*--5y11m.json")).read_text())
    scenario = get_scenario(bundle)
    response = requests.get(f"{server.url}/sandbox/fhir/Patient/{scenario.patient_id}", timeout=10)
    assert response.status_code == 200
    coverage = requests.get(f"{server.url}/sandbox/fhir/Coverage?patient={scenario.patient_id}", timeout=10)
    assert coverage.json()["total"] == 1
    listing = requests.get(f"{server.url}/sandbox/api/patients", timeout=10).json()["patients"]
    assert {p["name"]: p["source"] for p in listing}[scenario.name] == "imported"
    page = requests.get(f"{server.url}/sandbox", timeout=10)
    assert page.status_code == 200 and "1 patient file(s) skipped" in page.text


def test_store__patient_imported_while_running__served_without_restart(
    tmp_path: Path, serve, monkeypatch
) -> None:
    from plugin.app import create_app
    from plugin.cli import main
    from plugin.sandbox import store

    from .conftest import sandbox_settings, synthea_files

    monkeypatch.setattr(store, "RECHECK_SECONDS", 0.0)
    imported = tmp_path / "imported"
    server = serve(create_app(sandbox_settings(tmp_path, imported)))
    before = requests.get(f"{server.url}/sandbox/api/patients", timeout=10).json()["patients"]
    assert all(p["source"] == "synthetic" for p in before)
    main(["import", str(synthea_files()[2]), "--age-on-order", "40y", "--out", str(imported)])
    after = requests.get(f"{server.url}/sandbox/api/patients", timeout=10).json()["patients"]
    assert len(after) == len(before) + 1 and after[-1]["source"] == "imported"


def test_store__synthea_patients_sharing_a_hospital__all_loaded_without_problems(tmp_path: Path) -> None:
    from plugin.cli import main
    from plugin.sandbox.store import SandboxStore

    from .conftest import synthea_files

    files = [str(p) for p in synthea_files()]
    main(["import", *files, "--age-on-order", "40y", "--order-date", "2026-11-25", "--out", str(tmp_path)])
    store = SandboxStore([("imported", tmp_path)]).load()
    assert store.problems == []
    assert len(store.records) == len(files)
    assert len(store.index.by_type["Patient"]) == len(files)
