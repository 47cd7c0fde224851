"""The terminology API over the content published in fhir_bundles/ (the default app, as cloned):
CPT 33952 and its family, its modifiers, the age-band concept map."""

from __future__ import annotations

from typing import Any

import pytest

from tests.terminology.conftest import R4, R5, out, param, post

CPT = "http://www.ama-assn.org/go/cpt"
BASE = "https://fhir.cpt-plugin.org"
SIX_AND_OLDER = f"{BASE}/ValueSet/ecmo-insertion-age-6-and-older"
FAMILY = f"{BASE}/ValueSet/ecmo-ecls-family"
AGE_MAP = f"{BASE}/ConceptMap/ecmo-age-band"


def properties(response: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for p in response.get_json()["parameter"]:
        if p["name"] == "property":
            parts = {x["name"]: x for x in p["part"]}
            value = next(v for k, v in parts["value"].items() if k.startswith("value"))
            found[parts["code"]["valueCode"]] = value
    return found


def issue_texts(response: Any) -> list[tuple[str, str]]:
    outcome = out(response, "issues") or {"issue": []}
    return [(i["severity"], i["details"]["text"]) for i in outcome["issue"]]


@pytest.mark.parametrize("base", [R4, R5])
def test_lookup__cpt_33952__gives_display_and_says_6_years_minimum_and_percutaneous(client, base) -> None:
    response = client.get(f"{base}/CodeSystem/$lookup", query_string={"system": CPT, "code": "33952"})
    assert response.status_code == 200
    assert "percutaneous" in out(response, "display")
    found = properties(response)
    assert found["age-min"] == 6
    assert found["approach"] == "percutaneous"
    assert "age-max" not in found


def test_validate_code__33951__is_not_in_the_6_and_older_insertion_value_set(client) -> None:
    response = client.get(
        f"{R4}/ValueSet/$validate-code", query_string={"url": SIX_AND_OLDER, "system": CPT, "code": "33951"}
    )
    assert out(response, "result") is False
    assert "33951" in out(response, "message")
    assert SIX_AND_OLDER in out(response, "message")


def test_validate_code__33952__is_in_the_6_and_older_insertion_value_set(client) -> None:
    response = post(
        client,
        f"{R4}/ValueSet/$validate-code",
        param("url", SIX_AND_OLDER, "Uri"),
        param("coding", {"system": CPT, "code": "33952"}),
    )
    assert out(response, "result") is True
    assert issue_texts(response) == []


def test_validate_code__33952_with_modifier_62__is_valid_but_flagged_not_payable_by_medicare(client) -> None:
    response = client.get(
        f"{R4}/ValueSet/$validate-code",
        query_string={"url": SIX_AND_OLDER, "system": CPT, "code": "33952:62"},
    )
    assert out(response, "result") is True
    [(severity, text)] = issue_texts(response)
    assert severity == "warning"
    assert "not payable by Medicare" in text
    assert "co-surgeon" in text  # the reason, from the applicability map's comment


def test_validate_code__33952_with_modifier_00__is_invalid_because_00_is_no_modifier(client) -> None:
    response = client.get(f"{R4}/CodeSystem/$validate-code", query_string={"url": CPT, "code": "33952:00"})
    assert out(response, "result") is False
    assert out(response, "message") == "00 is not a CPT or HCPCS modifier"


def test_validate_code__33952_with_modifier_63__is_invalid_as_clinically_inconsistent(client) -> None:
    response = client.get(f"{R4}/CodeSystem/$validate-code", query_string={"url": CPT, "code": "33952:63"})
    assert out(response, "result") is False
    assert "clinically inconsistent" in out(response, "message")


@pytest.mark.parametrize("modifier", ["25", "FT"])
def test_validate_code__33952_with_an_em_line_modifier__is_invalid_naming_the_line(client, modifier) -> None:
    # 25 and FT belong on the same-day E/M line, not on the procedure line.
    response = client.get(
        f"{R4}/CodeSystem/$validate-code", query_string={"url": CPT, "code": f"33952:{modifier}"}
    )
    assert out(response, "result") is False
    message = out(response, "message")
    assert f"Modifier {modifier} is not appended to CPT 33952" in message
    assert "E/M line" in message


@pytest.mark.parametrize("modifier", ["25", "FT", "57"])
def test_expand__modifiers_usable_on_33952__leaves_out_the_em_line_modifiers(client, modifier) -> None:
    response = client.get(
        f"{R4}/ValueSet/$expand",
        query_string={"url": "https://fhir.cpt-plugin.org/ValueSet/cpt-33952-modifiers"},
    )
    codes = {c["code"] for c in response.get_json()["expansion"]["contains"]}
    assert modifier not in codes
    assert {"22", "59", "XS"} <= codes


def test_expand__family_with_filter_percutaneous_and_count_2__pages_consistently_with_total(client) -> None:
    seen: list[str] = []
    totals = set()
    offset = 0
    while True:
        response = client.get(
            f"{R4}/ValueSet/$expand",
            query_string={"url": FAMILY, "filter": "percutaneous", "count": 2, "offset": offset},
        )
        assert response.status_code == 200
        expansion = response.get_json()["expansion"]
        totals.add(expansion["total"])
        page = [c["code"] for c in expansion.get("contains", [])]
        if not page:
            break
        assert len(page) <= 2
        seen += page
        offset += 2
    [total] = totals
    assert len(seen) == total == len(set(seen))
    assert {"33951", "33952"} <= set(seen)
    assert "33953" not in seen  # the open-approach insertion does not match


@pytest.mark.parametrize(("source", "counterpart"), [("33952", "33951"), ("33951", "33952")])
def test_translate__age_band_map__names_the_counterpart_in_the_other_age_band(
    client, source, counterpart
) -> None:
    response = client.get(
        f"{R4}/ConceptMap/$translate", query_string={"url": AGE_MAP, "system": CPT, "code": source}
    )
    assert out(response, "result") is True
    [match] = [p for p in response.get_json()["parameter"] if p["name"] == "match"]
    parts = {p["name"]: p for p in match["part"]}
    assert parts["concept"]["valueCoding"]["code"] == counterpart
    assert parts["equivalence"]["valueCode"] == "relatedto"
    band = parts["dependsOn"]["part"]
    assert [x["name"] for x in band] == ["element", "concept"]  # R4 names for the dependency
    assert band[1]["valueCoding"]["code"] == ("under-6" if counterpart == "33951" else "6-and-older")


def test_translate__age_band_map_at_r5__gives_a_relationship(client) -> None:
    response = client.get(
        f"{R5}/ConceptMap/$translate",
        query_string={"url": AGE_MAP, "sourceSystem": CPT, "sourceCode": "33952"},
    )
    [match] = [p for p in response.get_json()["parameter"] if p["name"] == "match"]
    parts = {p["name"]: p for p in match["part"]}
    assert parts["relationship"]["valueCode"] == "related-to"
    assert parts["originMap"]["valueCanonical"].startswith(AGE_MAP)


def test_metadata_terminology__lists_the_published_cpt_fragment(client) -> None:
    body = client.get(f"{R4}/metadata", query_string={"mode": "terminology"}).get_json()
    assert body["resourceType"] == "TerminologyCapabilities"
    assert CPT in {cs["uri"] for cs in body["codeSystem"]}
