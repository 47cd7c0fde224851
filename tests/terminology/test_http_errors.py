"""Every failure below /fhir is an OperationOutcome with the right status; nothing gives a 500."""

from __future__ import annotations

import json

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.terminology.conftest import R4, R5, SHAPES

OPERATIONS = [
    "ValueSet/$expand",
    "ValueSet/$validate-code",
    "CodeSystem/$validate-code",
    "CodeSystem/$lookup",
    "CodeSystem/$subsumes",
    "ConceptMap/$translate",
    "ValueSet/$batch-validate-code",
]


def assert_outcome(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["details"]["text"]
    return body


def test_unknown_route_under_fhir__is_404_operation_outcome(tx) -> None:
    assert_outcome(tx.get(f"{R4}/Patient/123"), 404)
    assert_outcome(tx.get(f"{R5}/ValueSet/$frobnicate"), 404)


def test_wrong_method__is_405_with_allow(tx) -> None:
    response = tx.delete(f"{R5}/metadata")
    assert_outcome(response, 405)
    assert "GET" in response.headers["Allow"]


def test_xml_only_accept__is_406(tx) -> None:
    assert_outcome(tx.get(f"{R4}/metadata", headers={"Accept": "application/fhir+xml"}), 406)


def test_xml_format_parameter__is_406(tx) -> None:
    assert_outcome(tx.get(f"{R4}/metadata", query_string={"_format": "xml"}), 406)


def test_json_format_parameter_and_browser_accept__are_fine(tx) -> None:
    assert tx.get(f"{R4}/metadata", query_string={"_format": "json"}).status_code == 200
    assert (
        tx.get(f"{R4}/metadata", headers={"Accept": "text/html,application/xml;q=0.9,*/*;q=0.8"}).status_code
        == 200
    )


def test_post_body_that_is_not_json__is_415(tx) -> None:
    response = tx.post(
        f"{R5}/ValueSet/$expand", data="<Parameters/>", headers={"Content-Type": "application/fhir+xml"}
    )
    assert_outcome(response, 415)


def test_post_malformed_json__is_400(tx) -> None:
    response = tx.post(
        f"{R5}/ValueSet/$expand", data="{not json", headers={"Content-Type": "application/fhir+json"}
    )
    assert_outcome(response, 400)


def test_post_resource_that_is_not_parameters__is_400(tx) -> None:
    response = tx.post(f"{R5}/ValueSet/$expand", json={"resourceType": "Patient"})
    assert "Parameters" in assert_outcome(response, 400)["issue"][0]["details"]["text"]


def test_post_parameter_of_the_wrong_type__is_400(tx) -> None:
    body = {"resourceType": "Parameters", "parameter": [{"name": "count", "valueString": "ten"}]}
    assert_outcome(tx.post(f"{R5}/ValueSet/$expand", json=body), 400)


def test_get_boolean_that_is_not_a_boolean__is_400(tx) -> None:
    assert_outcome(tx.get(f"{R5}/ValueSet/$expand", query_string={"url": "x", "activeOnly": "maybe"}), 400)


def test_repeated_single_parameter__is_400(tx) -> None:
    response = tx.get(
        f"{R5}/CodeSystem/$lookup", query_string=[("system", SHAPES), ("code", "a"), ("code", "b")]
    )
    assert_outcome(response, 400)


def test_form_encoded_post__is_read_like_a_query(tx) -> None:
    response = tx.post(f"{R5}/CodeSystem/$lookup", data={"system": SHAPES, "code": "circle"})
    assert response.status_code == 200


def test_live_http__content_type_and_operation_outcome_over_the_wire(tx_live) -> None:
    good = requests.get(
        f"{tx_live.url}{R4}/CodeSystem/$lookup", params={"system": SHAPES, "code": "circle"}, timeout=5
    )
    assert good.headers["Content-Type"].startswith("application/fhir+json")
    bad = requests.post(
        f"{tx_live.url}{R4}/ValueSet/$expand",
        data=b"\xff\xfe",
        timeout=5,
        headers={"Content-Type": "application/fhir+json"},
    )
    assert bad.status_code == 400
    assert bad.json()["resourceType"] == "OperationOutcome"


junk_values = st.one_of(
    st.text(max_size=30),
    st.integers(),
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(
        st.sampled_from(["system", "code", "coding", "display", "version"]), st.text(max_size=10), max_size=3
    ),
)
junk_param = st.fixed_dictionaries(
    {
        "name": st.sampled_from(
            [
                "url",
                "code",
                "system",
                "coding",
                "codeableConcept",
                "count",
                "offset",
                "filter",
                "valueSet",
                "tx-resource",
                "displayLanguage",
                "activeOnly",
                "property",
                "version",
                "system-version",
                "useSupplement",
                "validation",
                "codeA",
                "sourceCode",
                "x",
            ]
        )
    }
).flatmap(
    lambda base: st.tuples(
        st.just(base),
        st.sampled_from(
            [
                "valueString",
                "valueCode",
                "valueBoolean",
                "valueInteger",
                "valueCoding",
                "valueCodeableConcept",
                "resource",
                "part",
            ]
        ),
        junk_values,
    )
)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_random_junk_parameters__never_give_a_server_error(tx, operation: str) -> None:
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(junk_param, max_size=5))
    def check(params) -> None:
        body = {
            "resourceType": "Parameters",
            "parameter": [{**base, key: value} for base, key, value in params],
        }
        response = tx.post(
            f"{R5}/{operation}", data=json.dumps(body), headers={"Content-Type": "application/fhir+json"}
        )
        assert response.status_code < 500, response.get_data(as_text=True)[:500]
        assert response.get_json()["resourceType"] in ("Parameters", "ValueSet", "OperationOutcome")

    check()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "url",
                "system",
                "code",
                "count",
                "offset",
                "filter",
                "activeOnly",
                "displayLanguage",
                "version",
                "codeA",
                "codeB",
                "_format",
            ]
        ),
        st.text(max_size=20),
        max_size=5,
    )
)
def test_random_junk_query_strings__never_give_a_server_error(tx, query) -> None:
    for operation in OPERATIONS[:6]:
        response = tx.get(f"{R4}/{operation}", query_string=query)
        assert response.status_code < 500, response.get_data(as_text=True)[:500]


def _mutation_base() -> dict:
    """A well-formed request carrying its own code system and value set as tx-resources."""
    code_system = {
        "resourceType": "CodeSystem",
        "url": "http://example.org/fhir/CodeSystem/mutated",
        "version": "1",
        "status": "active",
        "content": "complete",
        "property": [{"code": "parent", "type": "code"}],
        "concept": [
            {"code": "a", "display": "A", "designation": [{"language": "de", "value": "Ah"}]},
            {"code": "b", "display": "B", "property": [{"code": "parent", "valueCode": "a"}]},
        ],
    }
    value_set = {
        "resourceType": "ValueSet",
        "url": "http://example.org/fhir/ValueSet/mutated",
        "version": "1",
        "status": "active",
        "compose": {
            "include": [
                {
                    "system": code_system["url"],
                    "filter": [{"property": "concept", "op": "is-a", "value": "a"}],
                }
            ],
            "exclude": [{"system": code_system["url"], "concept": [{"code": "b"}]}],
        },
    }
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "url", "valueUri": value_set["url"]},
            {"name": "coding", "valueCoding": {"system": code_system["url"], "code": "a", "display": "A"}},
            {"name": "tx-resource", "resource": code_system},
            {"name": "tx-resource", "resource": value_set},
        ],
    }


def _paths(node, prefix=()):
    yield prefix
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        yield from _paths(value, (*prefix, key))


MUTATION_PATHS = [p for p in _paths(_mutation_base()) if p]
MUTANTS = st.sampled_from([None, 0, -1, 2.5, True, "", "x", [], {}, [1], ["a"], {"a": 1}, "*", "#x", "1.x"])


@pytest.mark.parametrize("operation", OPERATIONS[:4])
def test_malformed_tx_resources_and_parameters__never_give_a_server_error(tx, operation: str) -> None:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.tuples(st.sampled_from(MUTATION_PATHS), MUTANTS), min_size=1, max_size=3))
    def check(mutations) -> None:
        body = _mutation_base()
        for path, value in mutations:
            target = body
            try:
                for key in path[:-1]:
                    target = target[key]
                target[path[-1]] = json.loads(json.dumps(value))
            except (KeyError, IndexError, TypeError):
                continue  # an earlier mutation removed this path
        response = tx.post(
            f"{R5}/{operation}", data=json.dumps(body), headers={"Content-Type": "application/fhir+json"}
        )
        assert response.status_code < 500, response.get_data(as_text=True)[:500]

    check()


def test_tx_resource_of_the_wrong_shape__is_400_naming_the_element(tx) -> None:
    body = _mutation_base()
    body["parameter"][2]["resource"]["concept"][1]["property"] = {"code": "parent"}
    response = tx.post(
        f"{R5}/ValueSet/$expand", data=json.dumps(body), headers={"Content-Type": "application/fhir+json"}
    )
    outcome = assert_outcome(response, 400)
    assert "CodeSystem.concept[1].property: expected an array" in outcome["issue"][0]["details"]["text"]


def test_inline_value_set_of_the_wrong_shape__is_400(tx) -> None:
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "valueSet",
                "resource": {"resourceType": "ValueSet", "compose": {"include": {"system": SHAPES}}},
            }
        ],
    }
    response = tx.post(
        f"{R5}/ValueSet/$expand", data=json.dumps(body), headers={"Content-Type": "application/fhir+json"}
    )
    outcome = assert_outcome(response, 400)
    assert "valueSet.compose.include: expected an array" in outcome["issue"][0]["details"]["text"]
