"""CodeSystem/$validate-code: the code system as the value set of all its codes."""

from __future__ import annotations

from tests.terminology.conftest import R5, SHAPES, issues, message_ids, out, param, post


def test_cs_validate_code__known_code__is_true_with_display(tx) -> None:
    response = tx.get(f"{R5}/CodeSystem/$validate-code", query_string={"url": SHAPES, "code": "triangle"})
    assert out(response, "result") is True
    assert out(response, "display") == "Triangle"


def test_cs_validate_code__unknown_code__names_the_version(tx) -> None:
    response = tx.get(f"{R5}/CodeSystem/$validate-code", query_string={"url": SHAPES, "code": "hexagon"})
    assert out(response, "result") is False
    assert out(response, "message") == f"Unknown code 'hexagon' in the CodeSystem '{SHAPES}' version '2.0.0'"


def test_cs_validate_code__older_version__is_checked_in_that_version(tx) -> None:
    response = tx.get(
        f"{R5}/CodeSystem/$validate-code", query_string={"url": SHAPES, "version": "1.0.0", "code": "circle"}
    )
    assert out(response, "result") is False


def test_cs_validate_code__case_insensitive_system__accepts_other_case_and_says_so(tx) -> None:
    response = post(
        tx,
        f"{R5}/CodeSystem/$validate-code",
        param("coding", {"system": "http://example.org/fhir/CodeSystem/colours", "code": "red"}),
    )
    assert out(response, "result") is True
    assert out(response, "normalized-code") == "Red"
    assert message_ids(issues(response)) == ["CODE_CASE_DIFFERENCE"]


def test_cs_validate_code__case_sensitive_system__rejects_other_case(tx) -> None:
    response = tx.get(f"{R5}/CodeSystem/$validate-code", query_string={"url": SHAPES, "code": "SQUARE"})
    assert out(response, "result") is False


def test_cs_validate_code__supplement_as_system__is_result_false(tx) -> None:
    response = post(
        tx,
        f"{R5}/CodeSystem/$validate-code",
        param("coding", {"system": "http://example.org/fhir/CodeSystem/shapes-fr", "code": "square"}),
    )
    assert out(response, "result") is False
    assert message_ids(issues(response)) == ["CODESYSTEM_CS_NO_SUPPLEMENT"]


def test_cs_validate_code__unknown_system__is_result_false_with_caused_by(tx) -> None:
    response = tx.get(
        f"{R5}/CodeSystem/$validate-code", query_string={"url": "http://nowhere.example/cs", "code": "x"}
    )
    assert out(response, "result") is False
    assert out(response, "x-caused-by-unknown-system") == "http://nowhere.example/cs"


def test_cs_validate_code__instance_level__uses_that_code_system(tx) -> None:
    response = tx.get(f"{R5}/CodeSystem/shapes-1.0.0/$validate-code", query_string={"code": "square"})
    assert out(response, "result") is True
    assert out(response, "version") == "1.0.0"


def test_cs_validate_code__unknown_instance__is_404(tx) -> None:
    response = tx.get(f"{R5}/CodeSystem/nope/$validate-code", query_string={"code": "square"})
    assert response.status_code == 404
