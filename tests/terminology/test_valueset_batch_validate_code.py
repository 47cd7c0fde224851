"""ValueSet/$batch-validate-code: several validations against one value set in one call."""

from __future__ import annotations

from tests.terminology.conftest import R5, SHAPES, param, post


def test_batch__three_codings__answers_each_in_order(tx) -> None:
    def validation(code: str) -> dict:
        return {
            "resourceType": "Parameters",
            "parameter": [param("coding", {"system": SHAPES, "code": code})],
        }

    response = post(
        tx,
        f"{R5}/ValueSet/$batch-validate-code",
        param("url", "http://example.org/fhir/ValueSet/round-and-square", "Uri"),
        *(param("validation", validation(c), "resource") for c in ("circle", "square", "triangle")),
    )
    results = [
        next(p["valueBoolean"] for p in v["resource"]["parameter"] if p["name"] == "result")
        for v in response.get_json()["parameter"]
    ]
    assert results == [True, True, False]


def test_batch__validation_without_a_code__gets_its_own_operation_outcome(tx) -> None:
    broken = {
        "resourceType": "Parameters",
        "parameter": [param("codingX", {"system": SHAPES, "code": "circle"})],
    }
    response = post(
        tx,
        f"{R5}/ValueSet/$batch-validate-code",
        param("url", "http://example.org/fhir/ValueSet/round-and-square", "Uri"),
        param("validation", broken, "resource"),
    )
    [answer] = response.get_json()["parameter"]
    assert answer["resource"]["resourceType"] == "OperationOutcome"


def test_batch__no_validations__is_400(tx) -> None:
    response = post(
        tx,
        f"{R5}/ValueSet/$batch-validate-code",
        param("url", "http://example.org/fhir/ValueSet/all-shapes", "Uri"),
    )
    assert response.status_code == 400


def test_batch__by_get__is_405_allowing_post(tx) -> None:
    """FHIR invokes an operation by GET only when its parameters are primitive; `validation` is a resource."""
    for path in (f"{R5}/ValueSet/$batch-validate-code", "/fhir/ValueSet/all-shapes/$batch-validate-code"):
        response = tx.get(path, query_string={"url": "http://example.org/fhir/ValueSet/all-shapes"})
        assert response.status_code == 405
        assert response.get_json()["resourceType"] == "OperationOutcome"
        assert "GET" not in response.headers["Allow"] and "POST" in response.headers["Allow"]
