"""ConceptMap/$translate: R4 equivalence at /fhir, R5 relationship at /fhir/r5, reverse lookups."""

from __future__ import annotations

from tests.terminology.conftest import CPT, R4, R5, out, param, post

AGE_MAP = "https://fhir.cpt-plugin.org/ConceptMap/test-age-band"


def matches(response) -> list[dict]:
    def value(part: dict) -> object:
        return next(v for k, v in part.items() if k.startswith("value"))

    return [
        {x["name"]: value(x) for x in p["part"] if "part" not in x}
        for p in response.get_json()["parameter"]
        if p["name"] == "match"
    ]


def test_translate__r5_names__gives_relationship_and_origin_map(tx) -> None:
    response = post(
        tx,
        f"{R5}/ConceptMap/$translate",
        param("url", AGE_MAP, "Uri"),
        param("sourceCode", "33952", "Code"),
        param("sourceSystem", CPT, "Uri"),
    )
    assert out(response, "result") is True
    [match] = matches(response)
    assert match["concept"] == {"system": CPT, "code": "33951"}
    assert match["relationship"] == "source-is-broader-than-target"
    assert match["originMap"] == AGE_MAP + "|1"
    assert match["message"] == "same procedure, birth through 5 years"


def test_translate__r4_endpoint_with_r4_names__gives_equivalence(tx) -> None:
    response = tx.get(
        f"{R4}/ConceptMap/$translate", query_string={"url": AGE_MAP, "code": "33951", "system": CPT}
    )
    [match] = matches(response)
    assert match["concept"]["code"] == "33952"
    assert match["equivalence"] == "narrower"
    assert "relationship" not in match


def test_translate__without_url__searches_every_map_for_the_source(tx) -> None:
    response = tx.get(
        f"{R5}/ConceptMap/$translate",
        query_string={"sourceCode": "33952", "sourceSystem": CPT, "targetSystem": CPT},
    )
    assert [m["concept"]["code"] for m in matches(response)] == ["33951"]


def test_translate__reverse_by_target_code__names_the_source(tx) -> None:
    response = tx.get(
        f"{R5}/ConceptMap/$translate",
        query_string={"url": AGE_MAP, "targetCode": "33951", "targetSystem": CPT},
    )
    [match] = matches(response)
    assert match["source"] == {"system": CPT, "code": "33952"}


def test_translate__unmapped_code__is_result_false_with_message(tx) -> None:
    response = tx.get(
        f"{R5}/ConceptMap/$translate",
        query_string={"url": AGE_MAP, "sourceCode": "33954", "sourceSystem": CPT},
    )
    assert out(response, "result") is False
    assert "No mappings" in out(response, "message")


def test_translate__instance_level__uses_that_map(tx) -> None:
    response = tx.get(
        f"{R5}/ConceptMap/test-age-band/$translate", query_string={"sourceCode": "33952", "sourceSystem": CPT}
    )
    assert out(response, "result") is True


def test_translate__unknown_map__is_404(tx) -> None:
    response = tx.get(
        f"{R5}/ConceptMap/$translate",
        query_string={"url": "http://nope.example/cm", "code": "x", "system": CPT},
    )
    assert response.status_code == 404


def test_translate__no_code__is_400(tx) -> None:
    response = tx.get(f"{R5}/ConceptMap/$translate", query_string={"url": AGE_MAP})
    assert response.status_code == 400


def test_translate__r4_endpoint__names_the_map_origin_map_and_the_relationship_as_equivalence(tx) -> None:
    response = tx.get(
        f"{R4}/ConceptMap/$translate", query_string={"url": AGE_MAP, "code": "33952", "system": CPT}
    )
    [match] = [p for p in response.get_json()["parameter"] if p["name"] == "match"]
    parts = {p["name"]: p for p in match["part"]}
    assert parts["originMap"]["valueCanonical"] == AGE_MAP + "|1"
    assert "source" not in parts and "relationship" not in parts
    assert "equivalence" in parts


def test_translate__r4_reverse_flag__finds_the_codes_that_map_to_the_given_one(tx) -> None:
    response = tx.get(
        f"{R4}/ConceptMap/$translate",
        query_string={"url": AGE_MAP, "code": "33951", "system": CPT, "reverse": "true"},
    )
    [match] = matches(response)
    assert match["source"] == {"system": CPT, "code": "33952"}
