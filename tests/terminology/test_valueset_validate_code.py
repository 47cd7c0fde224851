"""ValueSet/$validate-code: membership, displays, versions, inactive codes, GET and POST, errors."""

from __future__ import annotations

import pytest

from tests.terminology.conftest import R4, R5, SHAPES, issues, message_ids, out, param, post

VS = "http://example.org/fhir/ValueSet/"


def test_validate_code__member_by_get__is_true_with_display_and_version(tx) -> None:
    response = tx.get(
        f"{R5}/ValueSet/$validate-code",
        query_string={"url": VS + "all-shapes", "system": SHAPES, "code": "square"},
    )
    assert response.status_code == 200
    assert response.content_type.startswith("application/fhir+json")
    assert out(response, "result") is True
    assert out(response, "display") == "Square"
    assert out(response, "version") == "2.0.0"


def test_validate_code__non_member_coding_by_post__says_which_value_set(tx) -> None:
    response = post(
        tx,
        f"{R5}/ValueSet/$validate-code",
        param("url", VS + "round-and-square", "Uri"),
        param("coding", {"system": SHAPES, "code": "triangle"}),
    )
    assert out(response, "result") is False
    assert message_ids(issues(response)) == ["None_of_the_provided_codes_are_in_the_value_set_one"]
    assert issues(response)[0]["expression"] == ["Coding.code"]
    assert out(response, "message") == (
        f"The provided code '{SHAPES}#triangle' was not found in the value set '{VS}round-and-square|1.0.0'"
    )


def test_validate_code__unknown_code__reports_both_not_in_value_set_and_unknown_code(tx) -> None:
    response = tx.get(
        f"{R5}/ValueSet/$validate-code",
        query_string={"url": VS + "all-shapes", "system": SHAPES, "code": "hexagon"},
    )
    assert out(response, "result") is False
    assert set(message_ids(issues(response))) == {
        "None_of_the_provided_codes_are_in_the_value_set_one",
        "Unknown_Code_in_Version",
    }


def test_validate_code__wrong_display__is_an_error_listing_the_valid_ones(tx) -> None:
    response = post(
        tx,
        f"{R5}/ValueSet/$validate-code",
        param("url", VS + "all-shapes", "Uri"),
        param("coding", {"system": SHAPES, "code": "square", "display": "Box"}),
    )
    assert out(response, "result") is False
    [issue] = issues(response)
    assert issue["details"]["coding"][0]["code"] == "invalid-display"
    assert "Wrong Display Name 'Box'" in issue["details"]["text"]


def test_validate_code__wrong_display_with_lenient_validation__is_only_a_warning(tx) -> None:
    response = post(
        tx,
        f"{R5}/ValueSet/$validate-code",
        param("url", VS + "all-shapes", "Uri"),
        param("coding", {"system": SHAPES, "code": "square", "display": "Box"}),
        param("lenient-display-validation", True),
    )
    assert out(response, "result") is True
    assert issues(response)[0]["severity"] == "warning"


def test_validate_code__display_in_requested_language__is_accepted(tx) -> None:
    response = post(
        tx,
        f"{R5}/ValueSet/$validate-code",
        param("url", VS + "all-shapes", "Uri"),
        param("coding", {"system": SHAPES, "code": "square", "display": "Quadrat"}),
        param("displayLanguage", "de", "Code"),
    )
    assert out(response, "result") is True
    assert out(response, "display") == "Quadrat"


def test_validate_code__retired_concept__is_valid_with_inactive_warning(tx) -> None:
    response = tx.get(
        f"{R5}/ValueSet/$validate-code",
        query_string={"url": VS + "all-shapes", "system": SHAPES, "code": "rhombus"},
    )
    assert out(response, "result") is True
    assert out(response, "inactive") is True
    assert out(response, "status") == "retired"
    assert message_ids(issues(response)) == ["INACTIVE_CONCEPT_FOUND"]


def test_validate_code__retired_concept_with_active_only__is_invalid(tx) -> None:
    response = tx.get(
        f"{R5}/ValueSet/$validate-code",
        query_string={"url": VS + "all-shapes", "system": SHAPES, "code": "rhombus", "activeOnly": "true"},
    )
    assert out(response, "result") is False
    assert "STATUS_CODE_WARNING_CODE" in message_ids(issues(response))


def test_validate_code__abstract_concept_when_abstract_is_false__is_invalid(tx) -> None:
    response = tx.get(
        f"{R5}/ValueSet/$validate-code",
        query_string={"url": VS + "all-shapes", "system": SHAPES, "code": "polygon", "abstract": "false"},
    )
    assert out(response, "result") is False
    assert "ABSTRACT_CODE_NOT_ALLOWED" in message_ids(issues(response))


def test_validate_code__codeable_concept_with_one_good_coding__is_true(tx) -> None:
    concept = {
        "coding": [{"system": "http://unknown.example/cs", "code": "x"}, {"system": SHAPES, "code": "circle"}]
    }
    response = post(
        tx,
        f"{R5}/ValueSet/$validate-code",
        param("url", VS + "all-shapes", "Uri"),
        param("codeableConcept", concept, "CodeableConcept"),
    )
    assert out(response, "result") is True
    assert out(response, "code") == "circle"
    assert out(response, "codeableConcept") == concept


@pytest.mark.parametrize("first", ["triangle", "square"])
def test_validate_code__codeable_concept_with_two_member_codings__reports_the_first_one(tx, first) -> None:
    # The first coding found in the value set is the one the answer reports (code, system,
    # display), whatever the order; the HL7 tx-ecosystem suites of IG 1.9.3 expect it.
    codings = [
        {"system": SHAPES, "code": "triangle", "display": "Triangle"},
        {"system": SHAPES, "code": "square", "display": "Square"},
    ]
    concept = {"coding": codings if first == "triangle" else codings[::-1]}
    response = post(
        tx,
        f"{R5}/ValueSet/$validate-code",
        param("url", VS + "all-shapes", "Uri"),
        param("codeableConcept", concept, "CodeableConcept"),
    )
    assert out(response, "result") is True
    assert (out(response, "code"), out(response, "display")) == (first, first.title())
    assert out(response, "system") == SHAPES
    assert out(response, "codeableConcept") == concept


def test_validate_code__codeable_concept_member_then_non_member__reports_the_member_display(tx) -> None:
    concept = {
        "coding": [
            {"system": SHAPES, "code": "square", "display": "Square"},
            {"system": SHAPES, "code": "triangle", "display": "Triangle"},
        ]
    }
    response = post(
        tx,
        f"{R5}/ValueSet/$validate-code",
        param("url", VS + "round-and-square", "Uri"),
        param("codeableConcept", concept, "CodeableConcept"),
    )
    assert out(response, "result") is True
    assert (out(response, "code"), out(response, "display")) == ("square", "Square")


def test_validate_code__unknown_code_system__is_false_with_x_unknown_system(tx) -> None:
    response = post(
        tx,
        f"{R5}/ValueSet/$validate-code",
        param("url", VS + "all-shapes", "Uri"),
        param("coding", {"system": "http://unknown.example/cs", "code": "x"}),
    )
    assert out(response, "result") is False
    assert out(response, "x-unknown-system") == "http://unknown.example/cs"


def test_validate_code__coding_version_differs_from_pinned_include__is_a_version_mismatch(tx) -> None:
    response = post(
        tx,
        f"{R5}/ValueSet/$validate-code",
        param("url", VS + "shapes-v1", "Uri"),
        param("coding", {"system": SHAPES, "version": "2.0.0", "code": "square"}),
    )
    assert out(response, "result") is False
    assert "VALUESET_VALUE_MISMATCH" in message_ids(issues(response))


def test_validate_code__infer_system__finds_the_only_system(tx) -> None:
    response = tx.get(
        f"{R5}/ValueSet/$validate-code",
        query_string={"url": VS + "round-and-square", "code": "circle", "inferSystem": "true"},
    )
    assert out(response, "result") is True
    assert out(response, "system") == SHAPES


def test_validate_code__instance_level__validates_against_that_value_set(tx) -> None:
    response = tx.get(
        f"{R5}/ValueSet/polygons/$validate-code", query_string={"system": SHAPES, "code": "circle"}
    )
    assert out(response, "result") is False


def test_validate_code__bad_import__is_answered_as_result_false(tx) -> None:
    vs = {
        "resourceType": "ValueSet",
        "status": "active",
        "compose": {"include": [{"valueSet": ["http://nowhere.example/vs"]}]},
    }
    response = post(
        tx,
        f"{R5}/ValueSet/$validate-code",
        param("valueSet", vs, "resource"),
        param("coding", {"system": SHAPES, "code": "circle"}),
    )
    assert response.status_code == 200
    assert out(response, "result") is False
    assert message_ids(issues(response)) == ["Unable_to_resolve_value_Set_"]


def test_validate_code__nothing_to_validate__is_400(tx) -> None:
    response = tx.get(f"{R5}/ValueSet/$validate-code", query_string={"url": VS + "all-shapes"})
    assert response.status_code == 400
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_validate_code__unknown_value_set__is_404(tx) -> None:
    response = tx.get(
        f"{R5}/ValueSet/$validate-code", query_string={"url": VS + "nope", "system": SHAPES, "code": "x"}
    )
    assert response.status_code == 404


def test_validate_code__r4_endpoint__answers_the_same(tx) -> None:
    response = tx.get(
        f"{R4}/ValueSet/$validate-code",
        query_string={"url": VS + "all-shapes", "system": SHAPES, "code": "circle"},
    )
    assert out(response, "result") is True
