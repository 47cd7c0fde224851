"""The operations' pure functions called directly - no Flask, no HTTP: a registry, read parameters
and a base URL in, a FHIR resource out or a TxError raised."""

from __future__ import annotations

from typing import Any

import pytest

from plugin.terminology.errors import TxError, bad_request
from plugin.terminology.model.languages import parse_accept_language
from plugin.terminology.model.parameters import ParsedParameters
from plugin.terminology.model.registry import Registry
from plugin.terminology.operations import capabilities, search, valueset_batch_validate_code
from tests.terminology.conftest import SHAPES, content

BASE = "http://tx.example/fhir"
ROUND_AND_SQUARE = "http://example.org/fhir/ValueSet/round-and-square"
ALL_SHAPES = "http://example.org/fhir/ValueSet/all-shapes"


@pytest.fixture(scope="module")
def registry() -> Registry:
    shared = Registry()
    for resource in content():
        shared.add(resource, "test")
    return shared


def _coding(code: str) -> ParsedParameters:
    return ParsedParameters([{"name": "coding", "valueCoding": {"system": SHAPES, "code": code}}])


def _value(parameters: dict[str, Any], name: str) -> Any:
    found = next(p for p in parameters["parameter"] if p["name"] == name)
    return next(v for k, v in found.items() if k.startswith("value"))


def test_validate_batch__answers_each_validation_in_order(registry: Registry) -> None:
    shared = ParsedParameters([{"name": "url", "valueUri": ROUND_AND_SQUARE}])
    answer = valueset_batch_validate_code.validate_batch(
        registry, shared, [_coding("circle"), _coding("square"), _coding("triangle")]
    )
    results = [_value(v["resource"], "result") for v in answer["parameter"]]
    assert results == [True, True, False]


def test_validate_batch__a_validations_own_parameter_overrides_the_shared_one(registry: Registry) -> None:
    shared = ParsedParameters([{"name": "url", "valueUri": ROUND_AND_SQUARE}])
    own = ParsedParameters([*_coding("triangle"), {"name": "url", "valueUri": ALL_SHAPES}])
    [answer] = valueset_batch_validate_code.validate_batch(registry, shared, [own])["parameter"]
    assert _value(answer["resource"], "result") is True


def test_validate_batch__unreadable_or_failing_validations__hold_an_operation_outcome(
    registry: Registry,
) -> None:
    shared = ParsedParameters([{"name": "url", "valueUri": ROUND_AND_SQUARE}])
    no_code = ParsedParameters([{"name": "display", "valueString": "Circle"}])
    unreadable = bad_request("Parameter 'coding' must have exactly one value[x]")
    answer = valueset_batch_validate_code.validate_batch(
        registry, shared, [unreadable, no_code, _coding("circle")]
    )
    kinds = [v["resource"]["resourceType"] for v in answer["parameter"]]
    assert kinds == ["OperationOutcome", "OperationOutcome", "Parameters"]
    assert "value[x]" in answer["parameter"][0]["resource"]["issue"][0]["details"]["text"]


def test_validate_batch__http_languages__choose_the_display_the_answer_reports(registry: Registry) -> None:
    shared = ParsedParameters([{"name": "url", "valueUri": ALL_SHAPES}])
    answer = valueset_batch_validate_code.validate_batch(
        registry, shared, [_coding("square")], http_languages=parse_accept_language("de")
    )
    assert _value(answer["parameter"][0]["resource"], "display") == "Quadrat"


def test_validate_batch__no_validations__is_a_400_tx_error(registry: Registry) -> None:
    with pytest.raises(TxError) as raised:
        valueset_batch_validate_code.validate_batch(registry, ParsedParameters([]), [])
    assert raised.value.status == 400


def test_read_validations__keeps_an_unreadable_validation_in_its_place() -> None:
    params = ParsedParameters(
        [
            {
                "name": "validation",
                "resource": {"resourceType": "Parameters", "parameter": [*_coding("circle")]},
            },
            {"name": "validation", "resource": {"resourceType": "Patient"}},
        ]
    )
    first, second = valueset_batch_validate_code.read_validations(params)
    assert isinstance(first, ParsedParameters) and first.value("coding")["code"] == "circle"
    assert isinstance(second, TxError) and second.status == 400


def test_read_query__unknown_parameter_modifier_or_count__is_a_400_tx_error() -> None:
    for query in ([("publisher", "x")], [("name:missing", "true")], [("_count", "-1")], [("_offset", "x")]):
        with pytest.raises(TxError) as raised:
            search.read_query("CodeSystem", query)
        assert raised.value.status == 400, query


def test_read_query__caps_the_page_size() -> None:
    assert search.read_query("ValueSet", [("_count", "100000")]).count == search.MAX_COUNT


def test_search_resources__url_and_version__find_that_version(registry: Registry) -> None:
    query = search.read_query("CodeSystem", [("url", SHAPES), ("version", "1.0.0")])
    bundle = search.search_resources(registry, "CodeSystem", query, BASE)
    assert bundle["total"] == 1
    assert [e["resource"]["version"] for e in bundle["entry"]] == ["1.0.0"]
    assert bundle["entry"][0]["fullUrl"] == f"{BASE}/CodeSystem/shapes-1.0.0"


def test_search_resources__pages_with_next_and_previous_links(registry: Registry) -> None:
    first = search.search_resources(
        registry, "ValueSet", search.read_query("ValueSet", [("_count", "2")]), BASE
    )
    assert len(first["entry"]) == 2 and first["total"] > 2
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert links["self"] == f"{BASE}/ValueSet?_count=2"
    assert links["next"] == f"{BASE}/ValueSet?_count=2&_offset=2"
    second = search.search_resources(
        registry, "ValueSet", search.read_query("ValueSet", [("_count", "2"), ("_offset", "2")]), BASE
    )
    assert {link["relation"] for link in second["link"]} >= {"self", "previous"}
    assert not {e["resource"]["id"] for e in first["entry"]} & {e["resource"]["id"] for e in second["entry"]}


def test_search_resources__summary_count__gives_the_total_without_entries(registry: Registry) -> None:
    query = search.read_query("CodeSystem", [("url", SHAPES), ("_summary", "count")])
    bundle = search.search_resources(registry, "CodeSystem", query, BASE)
    assert bundle["total"] == 2 and "entry" not in bundle


def test_terminology_capabilities__lists_code_systems_and_versions_but_not_supplements(
    registry: Registry,
) -> None:
    found = capabilities.terminology_capabilities(registry, BASE)
    assert found["resourceType"] == "TerminologyCapabilities"
    assert found["url"] == f"{BASE}/metadata?mode=terminology"
    systems = {c["uri"]: [v["code"] for v in c.get("version", [])] for c in found["codeSystem"]}
    assert systems[SHAPES] == ["1.0.0", "2.0.0"]
    assert "http://example.org/fhir/CodeSystem/shapes-fr" not in systems


def test_metadata__mode_chooses_the_statement(registry: Registry) -> None:
    statement = capabilities.metadata(registry, BASE, "4.0.1")
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1" and statement["implementation"]["url"] == BASE
    assert capabilities.metadata(registry, BASE, "5.0.0", "full")["fhirVersion"] == "5.0.0"
    assert capabilities.metadata(registry, BASE, "5.0.0", "terminology")["resourceType"] == (
        "TerminologyCapabilities"
    )
