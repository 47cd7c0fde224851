"""CPT expressions (base code + modifiers after ':') in $validate-code and $lookup."""

from __future__ import annotations

from tests.terminology.conftest import CPT, R5, issues, message_ids, out, param, post

SIX_PLUS = "http://example.org/fhir/ValueSet/ecmo-insertion-6-plus"


def validate(tx, code: str, url: str = SIX_PLUS):
    return tx.get(f"{R5}/ValueSet/$validate-code", query_string={"url": url, "system": CPT, "code": code})


def test_cpt__base_code_in_value_set_with_not_paid_modifier__is_valid_with_a_medicare_warning(tx) -> None:
    response = validate(tx, "33952:62")
    assert out(response, "result") is True
    assert out(response, "code") == "33952:62"
    [issue] = issues(response)
    assert issue["severity"] == "warning"
    assert issue["details"]["text"] == "33952:62 is not payable by Medicare: co-surgeon indicator is 0"


def test_cpt__not_applicable_modifier__is_invalid_with_the_maps_reason(tx) -> None:
    response = validate(tx, "33952:59")
    assert out(response, "result") is False
    assert "no column-2 pair to bypass" in out(response, "message")


def test_cpt__documentation_modifier__is_valid_with_information(tx) -> None:
    response = validate(tx, "33952:80")
    assert out(response, "result") is True
    assert issues(response)[0]["severity"] == "information"


def test_cpt__unknown_modifier__is_invalid(tx) -> None:
    response = validate(tx, "33952:00")
    assert out(response, "result") is False
    assert message_ids(issues(response)) == ["CPT_EXPR_NOT_MODIFIER"]
    assert issues(response)[0]["details"]["text"] == "00 is not a CPT or HCPCS modifier"


def test_cpt__hcpcs_level_two_modifier_and_several_modifiers__are_accepted(tx) -> None:
    response = validate(tx, "33952:LT:62")
    assert out(response, "result") is True


def test_cpt__base_code_not_in_value_set__is_not_a_member_even_with_modifiers(tx) -> None:
    response = validate(tx, "33951:62")
    assert out(response, "result") is False
    assert "None_of_the_provided_codes_are_in_the_value_set_one" in message_ids(issues(response))


def test_cpt__modifier_first__is_refused_because_the_base_code_comes_first(tx) -> None:
    response = validate(tx, "62:33952")
    assert out(response, "result") is False
    assert "CPT_EXPR_BASE_IS_MODIFIER" in message_ids(issues(response))


def test_cpt__dash_separator__is_refused_with_how_to_write_it(tx) -> None:
    response = validate(tx, "33952-62")
    assert out(response, "result") is False
    assert "CPT_EXPR_SEPARATOR" in message_ids(issues(response))


def test_cpt__empty_part__is_refused(tx) -> None:
    response = validate(tx, "33952::62")
    assert out(response, "result") is False
    assert "CPT_EXPR_EMPTY_PART" in message_ids(issues(response))


def test_cpt__value_set_that_excludes_expressions__rejects_them(tx) -> None:
    response = validate(tx, "33952:62", url="http://example.org/fhir/ValueSet/cpt-base-only")
    assert out(response, "result") is False
    assert "CPT_EXPR_NOT_ALLOWED" in message_ids(issues(response))


def test_cpt__codesystem_validate_code__checks_the_expression(tx) -> None:
    response = tx.get(f"{R5}/CodeSystem/$validate-code", query_string={"url": CPT, "code": "33952:00"})
    assert out(response, "result") is False


def test_cpt__lookup_of_expression__describes_base_and_modifiers(tx) -> None:
    response = post(
        tx, f"{R5}/CodeSystem/$lookup", param("system", CPT, "Uri"), param("code", "33952:62", "Code")
    )
    assert out(response, "code") == "33952:62"
    assert out(response, "display").startswith("Percutaneous peripheral ECMO cannula insertion, 6 years")
    parts = [p["part"] for p in response.get_json()["parameter"] if p["name"] == "property"]
    codes = [next(x["valueCode"] for x in p if x["name"] == "code") for p in parts]
    assert "modifier" in codes and "modifier-applicability" in codes and "modified" in codes


def test_cpt__lookup_of_bad_expression__is_an_error(tx) -> None:
    response = tx.get(f"{R5}/CodeSystem/$lookup", query_string={"system": CPT, "code": "33952:00"})
    assert response.status_code == 400
    assert response.get_json()["issue"][0]["details"]["text"] == "00 is not a CPT or HCPCS modifier"
