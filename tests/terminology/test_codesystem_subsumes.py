"""CodeSystem/$subsumes: the outcome from the code system's hierarchy."""

from __future__ import annotations

import pytest

from tests.terminology.conftest import R5, SHAPES, out, param, post


@pytest.mark.parametrize(
    ("a", "b", "outcome"),
    [
        ("polygon", "square", "subsumes"),
        ("square", "polygon", "subsumed-by"),
        ("square", "square", "equivalent"),
        ("square", "circle", "not-subsumed"),
    ],
)
def test_subsumes__by_get__follows_the_hierarchy(tx, a: str, b: str, outcome: str) -> None:
    response = tx.get(f"{R5}/CodeSystem/$subsumes", query_string={"system": SHAPES, "codeA": a, "codeB": b})
    assert out(response, "outcome") == outcome


def test_subsumes__by_post_codings__works_the_same(tx) -> None:
    response = post(
        tx,
        f"{R5}/CodeSystem/$subsumes",
        param("codingA", {"system": SHAPES, "code": "quadrilateral"}),
        param("codingB", {"system": SHAPES, "code": "rhombus"}),
    )
    assert out(response, "outcome") == "subsumes"


def test_subsumes__instance_level__uses_that_code_system(tx) -> None:
    response = tx.get(
        f"{R5}/CodeSystem/shapes-2.0.0/$subsumes", query_string={"codeA": "polygon", "codeB": "triangle"}
    )
    assert out(response, "outcome") == "subsumes"


def test_subsumes__codings_from_two_systems__is_400(tx) -> None:
    response = post(
        tx,
        f"{R5}/CodeSystem/$subsumes",
        param("codingA", {"system": SHAPES, "code": "square"}),
        param("codingB", {"system": "http://other.example", "code": "x"}),
    )
    assert response.status_code == 400


def test_subsumes__unknown_code__is_404(tx) -> None:
    response = tx.get(
        f"{R5}/CodeSystem/$subsumes", query_string={"system": SHAPES, "codeA": "square", "codeB": "blob"}
    )
    assert response.status_code == 404


def test_subsumes__one_code_missing__is_400(tx) -> None:
    response = tx.get(f"{R5}/CodeSystem/$subsumes", query_string={"system": SHAPES, "codeA": "square"})
    assert response.status_code == 400
