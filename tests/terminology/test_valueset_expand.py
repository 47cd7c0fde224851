"""ValueSet/$expand: compose rules, paging, text filter, parameters echoed, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from plugin.app import create_app
from tests.terminology.conftest import R4, R5, SHAPES, param, post

VS = "http://example.org/fhir/ValueSet/"


def codes(body: dict) -> list[str]:
    out: list[str] = []

    def walk(items: list[dict]) -> None:
        for item in items:
            out.append(item["code"])
            walk(item.get("contains", []))

    walk(body["expansion"].get("contains", []))
    return out


def test_expand__whole_code_system__is_hierarchical_and_names_the_version_used(tx) -> None:
    body = tx.get(f"{R5}/ValueSet/$expand", query_string={"url": VS + "all-shapes"}).get_json()
    assert body["expansion"]["total"] == 6
    top = [c["code"] for c in body["expansion"]["contains"]]
    assert top == ["polygon", "circle"]
    assert codes(body) == ["polygon", "triangle", "quadrilateral", "square", "rhombus", "circle"]
    params = {
        (p["name"], next(v for k, v in p.items() if k.startswith("value")))
        for p in body["expansion"]["parameter"]
    }
    assert ("used-codesystem", f"{SHAPES}|2.0.0") in params


def test_expand__exclude_nested__gives_a_flat_list(tx) -> None:
    body = tx.get(
        f"{R5}/ValueSet/$expand", query_string={"url": VS + "all-shapes", "excludeNested": "true"}
    ).get_json()
    assert [c["code"] for c in body["expansion"]["contains"]] == codes(body)
    assert {"name": "excludeNested", "valueBoolean": True} in body["expansion"]["parameter"]


def test_expand__is_a_filter__includes_the_root_and_its_descendants(tx) -> None:
    body = post(tx, f"{R5}/ValueSet/$expand", param("url", VS + "polygons", "Uri")).get_json()
    assert sorted(codes(body)) == ["polygon", "quadrilateral", "rhombus", "square", "triangle"]
    polygon = body["expansion"]["contains"][0]
    assert polygon["abstract"] is True


def test_expand__property_filter_and_retired_concept__reports_status_and_inactive(tx) -> None:
    body = tx.get(f"{R5}/ValueSet/$expand", query_string={"url": VS + "four-sided"}).get_json()
    items: dict = {}

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            items[entry["code"]] = entry
            walk(entry.get("contains", []))

    walk(body["expansion"]["contains"])
    assert set(items) == {"quadrilateral", "square", "rhombus"}
    assert items["rhombus"]["inactive"] is True
    assert {"code": "status", "valueCode": "retired"} in items["rhombus"]["property"]
    assert {"code": "status", "uri": "http://hl7.org/fhir/concept-properties#status"} in body["expansion"][
        "property"
    ]


def test_expand__active_only__drops_retired_concepts(tx) -> None:
    body = tx.get(
        f"{R5}/ValueSet/$expand", query_string={"url": VS + "four-sided", "activeOnly": "true"}
    ).get_json()
    assert sorted(codes(body)) == ["quadrilateral", "square"]


def test_expand__exclude_by_filter__removes_the_subtree(tx) -> None:
    body = tx.get(f"{R5}/ValueSet/$expand", query_string={"url": VS + "not-polygons"}).get_json()
    assert codes(body) == ["circle"]


def test_expand__import_of_another_value_set__names_it_as_used(tx) -> None:
    body = tx.get(f"{R5}/ValueSet/$expand", query_string={"url": VS + "imports-polygons"}).get_json()
    assert len(codes(body)) == 5
    assert {"name": "used-valueset", "valueUri": VS + "polygons|1.0.0"} in body["expansion"]["parameter"]


def test_expand__text_filter_with_paging__pages_consistently_without_a_total(tx) -> None:
    # A text search of a whole code system states no total, as the reference server does.
    seen = []
    for offset in (0, 1, 2):
        body = tx.get(
            f"{R5}/ValueSet/$expand",
            query_string={"url": VS + "all-shapes", "filter": "qu", "count": "1", "offset": str(offset)},
        ).get_json()
        assert "total" not in body["expansion"]
        assert body["expansion"]["offset"] == offset
        seen += codes(body)
    assert sorted(seen) == ["quadrilateral", "square"]
    assert {"name": "filter", "valueString": "qu"} in body["expansion"]["parameter"]


def test_expand__count_zero__reports_only_the_total(tx) -> None:
    body = tx.get(f"{R5}/ValueSet/$expand", query_string={"url": VS + "all-shapes", "count": "0"}).get_json()
    assert body["expansion"]["total"] == 6
    assert "contains" not in body["expansion"]


def test_expand__display_language__picks_designations_and_echoes_the_language(tx) -> None:
    body = tx.get(
        f"{R5}/ValueSet/$expand", query_string={"url": VS + "round-and-square", "displayLanguage": "de"}
    ).get_json()
    displays = {c["code"]: c.get("display") for c in body["expansion"]["contains"]}
    assert displays == {"circle": "Circle", "square": "Quadrat"}
    assert {"name": "displayLanguage", "valueCode": "de"} in body["expansion"]["parameter"]


def test_expand__accept_language_header__is_honoured(tx) -> None:
    body = tx.get(
        f"{R5}/ValueSet/$expand",
        query_string={"url": VS + "round-and-square"},
        headers={"Accept-Language": "de"},
    ).get_json()
    assert {c["code"]: c["display"] for c in body["expansion"]["contains"]}["square"] == "Quadrat"


def test_expand__include_designations_and_a_requested_supplement__lists_them(tx) -> None:
    response = post(
        tx,
        f"{R5}/ValueSet/$expand",
        param("url", VS + "round-and-square", "Uri"),
        param("includeDesignations", True),
        param("useSupplement", "http://example.org/fhir/CodeSystem/shapes-fr", "Canonical"),
    )
    body = response.get_json()
    square = next(c for c in body["expansion"]["contains"] if c["code"] == "square")
    assert {"language": "fr", "value": "Carré"} in square["designation"]
    assert {"language": "de", "value": "Quadrat"} in square["designation"]
    assert {"name": "used-supplement", "valueUri": "http://example.org/fhir/CodeSystem/shapes-fr|1"} in body[
        "expansion"
    ]["parameter"]


def test_expand__unknown_supplement__is_422_with_the_catalog_message(tx) -> None:
    response = post(
        tx,
        f"{R5}/ValueSet/$expand",
        param("url", VS + "all-shapes", "Uri"),
        param("useSupplement", "http://x/nope", "Canonical"),
    )
    assert response.status_code == 422
    issue = response.get_json()["issue"][0]
    assert issue["details"]["text"] == "Required supplement not found: http://x/nope"


def test_expand__force_system_version__uses_that_version_and_echoes_it(tx) -> None:
    body = tx.get(
        f"{R5}/ValueSet/$expand",
        query_string={"url": VS + "all-shapes", "force-system-version": f"{SHAPES}|1.0.0"},
    ).get_json()
    assert "circle" not in codes(body)
    assert {"name": "force-system-version", "valueUri": f"{SHAPES}|1.0.0"} in body["expansion"]["parameter"]


def test_expand__check_system_version_mismatch__is_a_400_version_error(tx) -> None:
    response = tx.get(
        f"{R5}/ValueSet/$expand",
        query_string={"url": VS + "shapes-v1", "check-system-version": f"{SHAPES}|2.x"},
    )
    assert response.status_code == 400
    assert response.get_json()["issue"][0]["details"]["coding"][0]["code"] == "version-error"


def test_expand__tx_resource__is_used_for_this_request_only(tx) -> None:
    extra = {
        "resourceType": "ValueSet",
        "url": "http://example.org/fhir/ValueSet/only-here",
        "status": "active",
        "compose": {"include": [{"system": SHAPES, "concept": [{"code": "circle"}]}]},
    }
    response = post(
        tx,
        f"{R5}/ValueSet/$expand",
        param("url", extra["url"], "Uri"),
        param("tx-resource", extra, "resource"),
    )
    assert codes(response.get_json()) == ["circle"]
    again = tx.get(f"{R5}/ValueSet/$expand", query_string={"url": extra["url"]})
    assert again.status_code == 404


def test_expand__inline_value_set_parameter__is_expanded(tx) -> None:
    vs = {
        "resourceType": "ValueSet",
        "status": "active",
        "compose": {"include": [{"system": SHAPES, "concept": [{"code": "square"}]}]},
    }
    response = post(tx, f"{R5}/ValueSet/$expand", param("valueSet", vs, "resource"))
    assert codes(response.get_json()) == ["square"]


def test_expand__instance_level__expands_by_id(tx) -> None:
    body = tx.get(f"{R5}/ValueSet/round-and-square/$expand").get_json()
    assert sorted(codes(body)) == ["circle", "square"]


def test_expand__unknown_value_set__is_404_with_message_id(tx) -> None:
    response = tx.get(f"{R5}/ValueSet/$expand", query_string={"url": VS + "missing"})
    assert response.status_code == 404
    issue = response.get_json()["issue"][0]
    assert issue["extension"][0]["valueString"] == "Unable_to_resolve_value_Set_"


def test_expand__unknown_code_system__is_422(tx) -> None:
    vs = {
        "resourceType": "ValueSet",
        "status": "active",
        "compose": {"include": [{"system": "http://nowhere.example/cs"}]},
    }
    response = post(tx, f"{R5}/ValueSet/$expand", param("valueSet", vs, "resource"))
    assert response.status_code == 422
    assert (
        "could not be found, so the value set cannot be expanded"
        in response.get_json()["issue"][0]["details"]["text"]
    )


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [("(.+)+e", ["circle", "square", "triangle"]), ("([a-z]+)+q", []), ("(x*)*", [])],
)
def test_expand__catastrophic_regex__is_answered_correctly(tx, pattern, expected) -> None:
    # Patterns that backtrack exponentially in a backtracking engine run on RE2 (linear time).
    vs = {
        "resourceType": "ValueSet",
        "status": "active",
        "compose": {
            "include": [{"system": SHAPES, "filter": [{"property": "code", "op": "regex", "value": pattern}]}]
        },
    }
    response = post(tx, f"{R5}/ValueSet/$expand", param("valueSet", vs, "resource"))
    assert response.status_code == 200, response.get_json()
    assert sorted(codes(response.get_json())) == expected


def test_expand__regex_beyond_re2__is_an_invalid_filter(tx) -> None:
    vs = {
        "resourceType": "ValueSet",
        "status": "active",
        "compose": {
            "include": [
                {"system": SHAPES, "filter": [{"property": "code", "op": "regex", "value": r"(a)\1"}]}
            ]
        },
    }
    response = post(tx, f"{R5}/ValueSet/$expand", param("valueSet", vs, "resource"))
    assert response.status_code == 422
    issue = response.get_json()["issue"][0]
    assert issue["code"] == "invalid"
    assert "is not a valid regular expression" in issue["details"]["text"]


def test_expand__safe_regex_on_code__matches_whole_codes(tx) -> None:
    vs = {
        "resourceType": "ValueSet",
        "status": "active",
        "compose": {
            "include": [
                {"system": SHAPES, "filter": [{"property": "code", "op": "regex", "value": "[a-z]{3}angle"}]}
            ]
        },
    }
    body = post(tx, f"{R5}/ValueSet/$expand", param("valueSet", vs, "resource")).get_json()
    assert sorted(codes(body)) == ["triangle"]


def test_expand__too_many_codes_without_paging__is_too_costly(tx) -> None:
    response = tx.get(
        f"{R5}/ValueSet/$expand",
        query_string={"url": VS + "all-shapes"},
        headers={"X-TOO-COSTLY-THRESHOLD": "3"},
    )
    assert response.status_code == 422
    assert response.get_json()["issue"][0]["code"] == "too-costly"


def test_expand__negative_count__is_400(tx) -> None:
    response = tx.get(f"{R5}/ValueSet/$expand", query_string={"url": VS + "all-shapes", "count": "-1"})
    assert response.status_code == 400


def test_expand__r4_endpoint__carries_properties_as_cross_version_extensions(tx) -> None:
    body = tx.get(f"{R4}/ValueSet/$expand", query_string={"url": VS + "four-sided"}).get_json()
    assert "property" not in body["expansion"]
    urls = {e["url"] for e in body["expansion"].get("extension", [])}
    assert "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.property" in urls
    quadrilateral = body["expansion"]["contains"][0]
    rhombus = next(c for c in quadrilateral["contains"] if c["code"] == "rhombus")
    assert rhombus["extension"][0]["url"].endswith("ValueSet.expansion.contains.property")


def _numbered_code_system(size: int) -> dict[str, Any]:
    return {
        "resourceType": "CodeSystem",
        "url": "http://example.org/fhir/CodeSystem/numbered",
        "version": "1",
        "status": "active",
        "content": "complete",
        "caseSensitive": True,
        "concept": [{"code": f"n{i:03d}", "display": f"Number {i}"} for i in range(size)],
    }


def _limited_client(tmp_path: Path, limit: Any) -> FlaskClient:
    settings = {
        "storage": {"url": f"sqlite:///{tmp_path / 'feedback.db'}"},
        "content": {"cds_hooks": ""},
        "terminology": {"expansion_limit": limit},
    }
    return create_app(settings).test_client()


def test_expand__more_codes_than_the_configured_limit_and_no_count__is_too_costly(tmp_path) -> None:
    client = _limited_client(tmp_path, 50)
    response = post(
        client,
        f"{R5}/ValueSet/$expand",
        param("url", "http://example.org/fhir/CodeSystem/numbered?fhir_vs", "Uri"),
        param("tx-resource", _numbered_code_system(60), "resource"),
    )
    assert response.status_code == 422
    issue = response.get_json()["issue"][0]
    assert issue["code"] == "too-costly"
    assert "(>50)" in issue["details"]["text"]


def test_expand__more_codes_than_the_limit_with_count__pages_through_all_of_them(tmp_path) -> None:
    client = _limited_client(tmp_path, 50)
    response = post(
        client,
        f"{R5}/ValueSet/$expand",
        param("url", "http://example.org/fhir/CodeSystem/numbered?fhir_vs", "Uri"),
        param("tx-resource", _numbered_code_system(60), "resource"),
        param("count", 10, "Integer"),
        param("offset", 50, "Integer"),
    )
    assert response.status_code == 200
    expansion = response.get_json()["expansion"]
    assert expansion["total"] == 60
    assert [c["code"] for c in expansion["contains"]] == [f"n{i:03d}" for i in range(50, 60)]


def test_expand__a_bad_configured_limit__falls_back_to_the_default(tmp_path) -> None:
    client = _limited_client(tmp_path, "lots")
    response = post(
        client,
        f"{R5}/ValueSet/$expand",
        param("url", "http://example.org/fhir/CodeSystem/numbered?fhir_vs", "Uri"),
        param("tx-resource", _numbered_code_system(60), "resource"),
    )
    assert response.status_code == 200
    assert response.get_json()["expansion"]["total"] == 60


def test_expand__two_includes_of_one_large_system__are_deduplicated_and_paged(tx) -> None:
    numbered = _numbered_code_system(30)
    vs = {
        "resourceType": "ValueSet",
        "status": "active",
        "compose": {
            "include": [
                {
                    "system": numbered["url"],
                    "filter": [{"property": "code", "op": "regex", "value": "n00.*"}],
                },
                {"system": numbered["url"]},
            ],
            "exclude": [{"system": numbered["url"], "concept": [{"code": "n005"}]}],
        },
    }
    body = post(
        tx,
        f"{R5}/ValueSet/$expand",
        param("valueSet", vs, "resource"),
        param("tx-resource", numbered, "resource"),
        param("count", 5, "Integer"),
        param("offset", 8, "Integer"),
    ).get_json()
    assert body["expansion"]["total"] == 29
    assert codes(body) == ["n009", "n010", "n011", "n012", "n013"]


def test_expand__implicit_is_a_value_set_of_a_code_system__holds_the_code_and_descendants(tx) -> None:
    body = tx.get(
        f"{R5}/ValueSet/$expand", query_string={"url": f"{SHAPES}?fhir_vs=isa/quadrilateral"}
    ).get_json()
    assert sorted(codes(body)) == ["quadrilateral", "rhombus", "square"]
    assert body["url"] == f"{SHAPES}?fhir_vs=isa/quadrilateral"


def test_expand__value_set_a_code_system_declares_as_all_its_codes__is_implied(tx) -> None:
    numbered = {**_numbered_code_system(3), "valueSet": "http://example.org/fhir/ValueSet/all-numbered"}
    body = post(
        tx,
        f"{R5}/ValueSet/$expand",
        param("url", "http://example.org/fhir/ValueSet/all-numbered", "Uri"),
        param("tx-resource", numbered, "resource"),
    ).get_json()
    assert codes(body) == ["n000", "n001", "n002"]


def test_expand__implicit_value_set_with_an_unknown_query__is_404(tx) -> None:
    response = tx.get(f"{R5}/ValueSet/$expand", query_string={"url": f"{SHAPES}?fhir_vs=refset/x"})
    assert response.status_code == 404


def test_expand__two_large_flat_code_systems_included__both_are_listed(tx) -> None:
    first = _numbered_code_system(4)
    second = {**_numbered_code_system(3), "url": "http://example.org/fhir/CodeSystem/numbered-too"}
    vs = {
        "resourceType": "ValueSet",
        "status": "active",
        "compose": {"include": [{"system": first["url"]}, {"system": second["url"]}]},
    }
    body = post(
        tx,
        f"{R5}/ValueSet/$expand",
        param("valueSet", vs, "resource"),
        param("tx-resource", first, "resource"),
        param("tx-resource", second, "resource"),
    ).get_json()
    assert body["expansion"]["total"] == 7
    systems = [c["system"] for c in body["expansion"]["contains"]]
    assert systems == [first["url"]] * 4 + [second["url"]] * 3


def test_expand__exclude_by_an_imported_whole_system_value_set__removes_those_codes(tx) -> None:
    numbered = _numbered_code_system(5)
    everything = {
        "resourceType": "ValueSet",
        "url": "http://example.org/fhir/ValueSet/numbered-all",
        "status": "active",
        "compose": {"include": [{"system": numbered["url"]}]},
    }
    vs = {
        "resourceType": "ValueSet",
        "status": "active",
        "compose": {
            "include": [{"system": numbered["url"], "concept": [{"code": "n000"}, {"code": "n001"}]}],
            "exclude": [
                {"system": numbered["url"], "concept": [{"code": "n001"}], "valueSet": [everything["url"]]}
            ],
        },
    }
    body = post(
        tx,
        f"{R5}/ValueSet/$expand",
        param("valueSet", vs, "resource"),
        param("tx-resource", numbered, "resource"),
        param("tx-resource", everything, "resource"),
    ).get_json()
    assert codes(body) == ["n000"]


@pytest.mark.parametrize("endpoint", [R4, R5])
def test_expand__bad_display_language__is_the_catalog_message_naming_the_value(tx, endpoint) -> None:
    response = tx.get(
        f"{endpoint}/ValueSet/$expand",
        query_string={"url": VS + "all-shapes", "displayLanguage": "en,,q=x"},
    )
    assert response.status_code == 400
    issue = response.get_json()["issue"][0]
    assert issue["details"]["text"] == "Invalid displayLanguage: 'en,,q=x'"
    assert issue["extension"][0]["valueString"] == "INVALID_DISPLAY_NAME"


def test_expand__text_filter_on_an_enumerated_value_set__keeps_the_total(tx) -> None:
    vs = {
        "resourceType": "ValueSet",
        "status": "active",
        "compose": {"include": [{"system": SHAPES, "concept": [{"code": "square"}, {"code": "circle"}]}]},
    }
    response = post(tx, f"{R5}/ValueSet/$expand", param("valueSet", vs, "resource"), param("filter", "squ"))
    body = response.get_json()
    assert body["expansion"]["total"] == 1
    assert codes(body) == ["square"]
