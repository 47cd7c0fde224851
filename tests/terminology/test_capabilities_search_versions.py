"""metadata (CapabilityStatement, TerminologyCapabilities), $versions, read and search."""

from __future__ import annotations

from tests.terminology.conftest import CPT, R4, R5, SHAPES


def test_metadata__r4_and_r5__declare_their_fhir_version_and_the_terminology_server_statement(tx) -> None:
    for base, version in ((R4, "4.0.1"), (R5, "5.0.0")):
        body = tx.get(f"{base}/metadata").get_json()
        assert body["resourceType"] == "CapabilityStatement"
        assert body["fhirVersion"] == version
        assert body["instantiates"] == ["http://hl7.org/fhir/CapabilityStatement/terminology-server"]
        features = [e["extension"][0]["valueCanonical"] for e in body["extension"]]
        assert "http://hl7.org/fhir/uv/tx-ecosystem/FeatureDefinition/CodeSystemAsParameter" in features


def test_metadata__terminology_mode__lists_every_code_system_and_version(tx) -> None:
    body = tx.get(f"{R5}/metadata", query_string={"mode": "terminology"}).get_json()
    assert body["resourceType"] == "TerminologyCapabilities"
    systems = {c["uri"]: [v["code"] for v in c.get("version", [])] for c in body["codeSystem"]}
    assert systems[SHAPES] == ["1.0.0", "2.0.0"]
    assert CPT in systems
    assert "http://example.org/fhir/CodeSystem/shapes-fr" not in systems
    names = {p["name"] for p in body["expansion"]["parameter"]}
    assert {"tx-resource", "force-system-version", "displayLanguage"} <= names


def test_versions__reports_the_endpoints_fhir_version(tx) -> None:
    body = tx.get(f"{R5}/$versions").get_json()
    assert {"name": "default", "valueCode": "5.0"} in body["parameter"]
    assert {"name": "default", "valueCode": "4.0"} in tx.get(f"{R4}/$versions").get_json()["parameter"]


def test_read__known_id__returns_the_resource(tx) -> None:
    body = tx.get(f"{R4}/ValueSet/all-shapes").get_json()
    assert body["url"] == "http://example.org/fhir/ValueSet/all-shapes"
    assert tx.get(f"{R4}/Questionnaire/q1").get_json()["resourceType"] == "Questionnaire"


def test_read__unknown_id__is_404_operation_outcome(tx) -> None:
    response = tx.get(f"{R4}/CodeSystem/nope")
    assert response.status_code == 404
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_search__by_url_and_version__finds_that_version(tx) -> None:
    body = tx.get(f"{R4}/CodeSystem", query_string={"url": SHAPES, "version": "1.0.0"}).get_json()
    assert body["type"] == "searchset"
    assert body["total"] == 1
    assert body["entry"][0]["resource"]["version"] == "1.0.0"


def test_search__by_name_prefix_and_status__with_paging(tx) -> None:
    body = tx.get(
        f"{R4}/ValueSet", query_string={"name": "ecmoinsertion", "status": "active", "_count": "1"}
    ).get_json()
    assert body["total"] == 2
    assert len(body["entry"]) == 1
    assert any(link["relation"] == "next" for link in body["link"])


def test_search__by_title__on_questionnaires(tx) -> None:
    body = tx.get(f"{R4}/Questionnaire", query_string={"title": "a quest"}).get_json()
    assert body["total"] == 1


def test_search__bad_count__is_400(tx) -> None:
    assert tx.get(f"{R4}/ValueSet", query_string={"_count": "many"}).status_code == 400


def test_search__unknown_parameter__is_400(tx) -> None:
    assert tx.get(f"{R4}/ValueSet", query_string={"colour": "red"}).status_code == 400
