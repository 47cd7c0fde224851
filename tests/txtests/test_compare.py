"""The comparator against hand-made expected/actual pairs: templates, optional properties and array
items, the ordered-array algorithm, and the quirks kept from the official CompareUtilities."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest

from tools.txtests.compare import Comparator, TemplateError, lenient_base64
from tools.txtests.fhirjson import loads


def diff(expected, actual, **settings):
    settings.setdefault("variables", {"version": "5.0.0"})
    return Comparator(**settings).compare(expected, actual)


def same(expected, actual, **settings) -> bool:
    return diff(expected, actual, **settings) is None


# -- plain values ---------------------------------------------------------------------------------


def test_equal_documents__match() -> None:
    doc = {"resourceType": "Parameters", "parameter": [{"name": "result", "valueBoolean": True}]}
    assert same(doc, doc)


def test_different_string__reports_path_and_both_values() -> None:
    expected = {"parameter": [{"name": "a"}, {"name": "b"}, {"name": "message", "valueString": "right"}]}
    actual = {"parameter": [{"name": "a"}, {"name": "b"}, {"name": "message", "valueString": "wrong!"}]}
    found = diff(expected, actual)
    assert found.path == "$.parameter[2].valueString"
    assert str(found) == '$.parameter[2].valueString: expected "right", got "wrong!"'


def test_long_values__are_cut_short_in_the_message() -> None:
    found = diff({"text": "a" * 500}, {"text": "b" * 500})
    assert len(found.message) < 300
    assert found.message.endswith('..."')


def test_numbers__compare_by_literal_text_so_5_is_not_5_point_0() -> None:
    assert same(loads('{"total": 5}'), loads('{"total": 5}'))
    assert same(loads('{"v": 5.0}'), loads('{"v": 5.0}'))
    found = diff(loads('{"total": 5}'), loads('{"total": 5.0}'))
    assert str(found) == "$.total: expected 5, got 5.0"
    assert isinstance(loads('{"v": 1.50}')["v"], Decimal)


def test_booleans__must_be_equal() -> None:
    assert same({"result": True}, {"result": True})
    assert str(diff({"result": True}, {"result": False})) == "$.result: expected true, got false"


def test_type_mismatch__string_against_boolean_fails_even_for_any_value_template() -> None:
    assert "expected string" in str(diff({"v": "true"}, {"v": True}))
    assert diff({"v": "$$"}, {"v": True}) is not None


def test_null__only_matches_null() -> None:
    assert same({"v": None}, {"v": None})
    assert str(diff({"v": None}, {"v": "x"})) == '$.v: expected null, got "x"'


def test_object_against_array__is_a_kind_mismatch() -> None:
    assert str(diff({"v": {"a": 1}}, {"v": [1]})) == "$.v: expected an object, got an array"


def test_narratives__any_two_divs_match() -> None:
    expected = {"div": '<div xmlns="http://www.w3.org/1999/xhtml">one</div>'}
    assert same(expected, {"div": "<div>something else entirely</div>"})


def test_base64__different_texts_decoding_to_the_same_bytes_match() -> None:
    data = b"\x00\x01binary payload\xff"
    assert same({"data": base64.b64encode(data).decode()}, {"data": base64.b64encode(data).decode() + "\n"})


def test_base64_leniency__texts_differing_only_in_spaces_or_punctuation_match_as_upstream() -> None:
    # commons-codec ignores characters outside the base64 alphabet, so the official runner accepts these.
    assert lenient_base64("The code is invalid.") == lenient_base64("Thecodeisinvalid")
    assert same({"text": "The code is invalid."}, {"text": "The code is invalid"})
    assert not same({"text": "The code is invalid"}, {"text": "The code is valid"})


# -- templates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "good", "bad"),
    [
        ("$$", "anything at all", None),
        ("$instant$", "2026-11-25T09:15:02.123+01:00", "2026-11-25"),
        ("$date$", "2026-11-25", "25/11/2026"),
        ("$date$", "2026-11-25T09:15:02Z", "2026-11-25T09:15"),
        ("$uuid$", "urn:uuid:0b8e3c2a-1f2d-4e5f-8a9b-0c1d2e3f4a5b", "0b8e3c2a-1f2d-4e5f-8a9b-0c1d2e3f4a5b"),
        ("$id$", "abc-1.2", "abc_1"),
        ("$url$", "https://fhir.cpt-plugin.org/metadata", "ftp://example.org/x"),
        ("$token$", "token_1.0-a", "-token"),
        ("$string$", "no padding", " padded "),
        ("$semver$", "1.9.3-ballot+build.7", "1.9"),
        ("$version$", "5.0.0", "4.0.1"),
        ("$choice:business-rule|not-found$", "not-found", "invalid"),
        (
            "$fragments:supplement|CodeSystem/Supplement$",
            "Unknown SUPPLEMENT codesystem/supplement",
            "supplement",
        ),
    ],
)
def test_template__accepts_matching_and_rejects_other_values(
    template: str, good: str, bad: str | None
) -> None:
    assert same({"v": template}, {"v": good})
    if bad is not None:
        found = diff({"v": template}, {"v": bad})
        assert found is not None and found.path == "$.v"


def test_template__message_describes_what_was_asked() -> None:
    assert str(diff({"v": "$choice:a|b$"}, {"v": "c"})) == '$.v: expected one of [a, b], got "c"'
    assert str(diff({"v": "$instant$"}, {"v": "now"})) == '$.v: expected an instant, got "now"'


def test_version_template__uses_the_negotiated_fhir_version_also_inside_literals() -> None:
    r4 = {"variables": {"version": "4.0.1"}}
    assert same({"fhirVersion": "$version$"}, {"fhirVersion": "4.0.1"}, **r4)
    assert same({"v": "FHIR $version$ server"}, {"v": "FHIR 4.0.1 server"}, **r4)
    assert not same({"v": "FHIR $version$ server"}, {"v": "FHIR 5.0.0 server"}, **r4)


def test_external__without_externals_needs_each_fragment_case_insensitively() -> None:
    assert same({"v": "$external:2:unknown|Code$"}, {"v": "Unknown CODE 'x'"})
    assert not same({"v": "$external:2:unknown|Code$"}, {"v": "Unknown system"})


def test_external__without_fragments_accepts_any_text() -> None:
    assert same({"v": "$external:2$"}, {"v": "whatever the server says"})


def test_external__with_a_url_fragment_keeps_only_the_scheme_as_upstream_does() -> None:
    # The official runner splits the template on every ':', so only "http" is required here.
    assert same(
        {"v": "$external:1:http://hl7.org/fhir/test/ValueSet/simple-allX$"}, {"v": "see http://other"}
    )


def test_external__with_externals_requires_the_exact_string() -> None:
    externals = {"1": "Unknown code 'code1x' in the CodeSystem"}
    assert same(
        {"v": "$external:1:code$"}, {"v": "Unknown code 'code1x' in the CodeSystem"}, externals=externals
    )
    found = diff({"v": "$external:1:code$"}, {"v": "Unknown code code1x"}, externals=externals)
    assert "expected \"Unknown code 'code1x' in the CodeSystem\" (external string 1)" in str(found)
    assert not same({"v": "$external:9:code$"}, {"v": "code"}, externals=externals)


def test_unknown_template__is_an_error_not_a_failure() -> None:
    with pytest.raises(TemplateError, match=r"\$nonsense\$"):
        diff({"v": "$nonsense$"}, {"v": "x"})


# -- properties ----------------------------------------------------------------------------------


def test_extra_property__in_actual_fails() -> None:
    assert str(diff({"a": 1}, {"a": 1, "b": 2})) == '$: unexpected property "b"'


def test_missing_property__fails() -> None:
    assert str(diff({"a": 1, "b": 2}, {"a": 1})) == '$: missing property "b"'


def test_optional_properties__may_be_absent_or_present() -> None:
    expected = {"$optional-properties$": ["id", "offset"], "id": "$id$", "total": 3, "offset": 0}
    assert same(expected, {"total": 3})
    assert same(expected, {"id": "x1", "total": 3, "offset": 0})
    assert not same(expected, {"id": "not an id!", "total": 3})


def test_optional_properties__listed_but_not_in_expected_are_allowed_in_actual() -> None:
    assert same({"$optional-properties$": ["offset"], "total": 3}, {"total": 3, "offset": 10})


def test_optional_properties_star__makes_every_property_optional() -> None:
    expected = {"$optional-properties$": ["*"], "a": 1, "b": 2}
    assert same(expected, {"a": 1, "c": "extra"})
    assert not same(expected, {"a": 2})


def test_count_arrays__compares_only_the_length() -> None:
    expected = {
        "$optional-properties$": [],
        "$count-arrays$": ["contains"],
        "contains": [{"code": "a"}, {"code": "b"}],
    }
    assert same(expected, {"contains": [{"code": "x"}, {"code": "y"}]})
    assert str(diff(expected, {"contains": [{"code": "x"}]})) == (
        "$.contains: array item count differs: expected 2, got 1"
    )


def test_missing_array__whose_items_are_all_optional_is_not_reported() -> None:
    expected = {"a": 1, "extension": [{"$optional$": "!tx.fhir.org", "url": "http://x"}]}
    assert same(expected, {"a": 1})


# -- arrays --------------------------------------------------------------------------------------


def params(*names: str) -> dict:
    return {"parameter": [{"name": n} for n in names]}


def test_array__order_matters() -> None:
    assert not same(params("a", "b"), params("b", "a"))


def test_array__too_many_actual_items_fails() -> None:
    assert (
        str(diff(params("a"), params("a", "b"))) == "$.parameter: array item count differs: expected 1, got 2"
    )


def test_optional_item__true_may_be_skipped_or_present() -> None:
    expected = {"parameter": [{"name": "a"}, {"$optional$": True, "name": "b"}, {"name": "c"}]}
    assert same(expected, params("a", "c"))
    assert same(expected, params("a", "b", "c"))
    assert str(diff(expected, params("a"))) == "$.parameter: array item count differs: expected 2 to 3, got 1"


def test_optional_item__not_mode_is_optional_unless_that_mode_is_on() -> None:
    expected = {"parameter": [{"name": "a"}, {"$optional$": "!tx.fhir.org", "name": "b"}]}
    assert same(expected, params("a"), modes=["general"])
    assert not same(expected, params("a"), modes=["general", "tx.fhir.org"])


def test_optional_item__mode_token_is_optional_only_when_that_mode_is_on() -> None:
    expected = {"parameter": [{"name": "a"}, {"$optional$": "flat", "name": "b"}]}
    assert not same(expected, params("a"), modes=["general"])
    assert same(expected, params("a"), modes=["general", "flat"])


def test_optional_item__warning_is_optional_and_its_absence_is_logged() -> None:
    expected = {"parameter": [{"name": "a"}, {"$optional$": "warning:version", "name": "version"}]}
    comparator = Comparator(["general"], None, {"version": "5.0.0"})
    assert comparator.compare(expected, params("a")) is None
    assert comparator.warnings == ["version"]
    assert same(expected, params("a", "version"))


def test_optional_item__version_token_follows_the_fhir_version() -> None:
    expected = {
        "part": [
            {"name": "concept"},
            {"$optional$": "version:5", "name": "equivalence"},
            {"$optional$": "version:4", "name": "relationship"},
        ]
    }
    r5_answer = {"part": [{"name": "concept"}, {"name": "relationship"}]}
    r4_answer = {"part": [{"name": "concept"}, {"name": "equivalence"}]}
    assert same(expected, r5_answer, variables={"version": "5.0.0"})
    assert not same(expected, r4_answer, variables={"version": "5.0.0"})
    assert same(expected, r4_answer, variables={"version": "4.0.1"})


def test_optional_item__that_does_not_match_is_skipped_without_using_up_the_actual_item() -> None:
    expected = {
        "parameter": [
            {"$optional$": True, "name": "a", "valueString": "x"},
            {"name": "a", "valueString": "y"},
        ]
    }
    assert same(expected, {"parameter": [{"name": "a", "valueString": "y"}]})


def test_actual_exhausted__before_an_optional_tail_item_succeeds_without_checking_the_rest() -> None:
    # Upstream returns success at the first optional item of the optional tail once actual is used up.
    expected = {
        "parameter": [
            {"name": "a"},
            {"$optional$": True, "name": "b"},
            {"$optional$": True, "name": "c"},
        ]
    }
    assert same(expected, params("a"))


def test_actual_exhausted__before_a_required_item_fails_at_that_index() -> None:
    expected = {"parameter": [{"$optional$": True, "name": "x"}, {"name": "a"}, {"name": "b"}]}
    found = diff(expected, {"parameter": [{"name": "b"}, {"name": "a"}]})
    assert found is not None and found.path.startswith("$.parameter[")


def test_first_difference__inside_a_required_item_is_the_one_reported() -> None:
    expected = {"parameter": [{"name": "result", "valueBoolean": True}]}
    assert str(diff(expected, {"parameter": [{"name": "result", "valueBoolean": False}]})) == (
        "$.parameter[0].valueBoolean: expected true, got false"
    )


def test_pattern_mode__expected_items_are_a_subsequence_and_extras_are_fine() -> None:
    expected = {"rest": [{"operation": [{"name": "expand"}, {"name": "validate-code"}]}]}
    actual = {
        "rest": [
            {
                "mode": "server",
                "operation": [{"name": "expand"}, {"name": "lookup"}, {"name": "validate-code"}],
            }
        ]
    }
    assert same(expected, actual, pattern_mode=True)
    missing = {"rest": [{"operation": [{"name": "validate-code"}, {"name": "expand"}]}]}
    found = diff(expected, missing, pattern_mode=True)
    assert found is not None and "expected item not found" in found.message
