"""Pure engine pieces: message catalog, versions, languages, code system views, filters, text index."""

from __future__ import annotations

import time

import pytest

from plugin.terminology import messages
from plugin.terminology.convert import conceptmap_to_r5, translate_result_to_r4, value_set_to_r4
from plugin.terminology.expand.filters import (
    UnknownFilterError,
    UnsafePatternError,
    compile_filter,
    compile_regex,
)
from plugin.terminology.model import versioning
from plugin.terminology.model.codesystem import CodeSystemView
from plugin.terminology.model.context import TxContext, TxOptions
from plugin.terminology.model.languages import LanguageError, parse_accept_language
from plugin.terminology.model.registry import Registry
from tests.terminology.conftest import SHAPES, shapes


def test_message_format__doubled_quotes_and_placeholders__render_like_java() -> None:
    assert messages.format_message("Can''t use ''{0}'' here ({1})", ("x", 2)) == "Can't use 'x' here (2)"
    assert messages.format_message("'{0}' is literal, {0} is not", ("v",)) == "{0} is literal, v is not"


def test_message_plural__picks_one_or_other_form() -> None:
    one = messages.plural(1, "VALUESET_SUPPLEMENT_MISSING", 1, "a")
    other = messages.plural(2, "VALUESET_SUPPLEMENT_MISSING", 2, "a,b")
    assert one == "Required supplement not found: a"
    assert other == "Required supplements not found: a,b"


def test_message_catalog__local_messages_extend_the_hl7_catalog() -> None:
    assert messages.render("CPT_EXPR_NOT_MODIFIER", "00") == "00 is not a CPT or HCPCS modifier"
    assert messages.catalog().has("Unknown_Code_in_Version")


@pytest.mark.parametrize(
    ("criteria", "candidate", "expected"),
    [
        ("1.0.x", "1.0.3", True),
        ("1.x", "1.2.0", True),
        ("1.0.x", "1.2.0", False),
        ("1", "1.0.0", False),
        ("2.0.0", "2.0.0", True),
        ("1.*", "1.9", True),
    ],
)
def test_version_matches__wildcards_only(criteria: str, candidate: str, expected: bool) -> None:
    assert versioning.version_matches(criteria, candidate) is expected


def test_version_order__numeric_parts_and_labels() -> None:
    ordered = versioning.sort_versions(["1.10.0", "1.2.0", "1.2.0-beta", "0.9"])
    assert ordered == ["0.9", "1.2.0-beta", "1.2.0", "1.10.0"]
    assert versioning.present_versions(["1", "2", "3"]) == "1, 2 and 3"


def test_accept_language__qualities_order_the_preferences() -> None:
    langs = parse_accept_language("en;q=0.4, de, *;q=0")
    assert langs.codes() == ["de", "en", "*"]
    with pytest.raises(LanguageError):
        parse_accept_language("en;q=2")


def test_code_system_view__nested_and_property_hierarchy__are_both_followed() -> None:
    resource = shapes(
        extra=[{"code": "oval", "display": "Oval", "property": [{"code": "parent", "valueCode": "circle"}]}]
    )
    view = CodeSystemView(resource)
    assert view.descendants("polygon") == ["triangle", "quadrilateral", "square", "rhombus"]
    assert view.subsumes("circle", "oval")
    assert "oval" not in view.roots


def test_code_system_view__undeclared_case_sensitivity__is_case_insensitive() -> None:
    resource = shapes()
    del resource["caseSensitive"]
    assert CodeSystemView(resource).locate("SQUARE").code == "square"
    assert CodeSystemView(shapes()).locate("SQUARE") is None


def test_code_system_view__status_flags() -> None:
    view = CodeSystemView(shapes())
    assert view.is_abstract(view.locate("polygon"))
    assert view.is_inactive(view.locate("rhombus"))
    assert view.status(view.locate("rhombus")) == "retired"
    assert view.status(view.locate("square")) is None


def test_code_system_view__supplement__adds_designations_marked_with_its_source() -> None:
    supplement = {
        "resourceType": "CodeSystem",
        "url": "http://x/supp",
        "version": "1",
        "content": "supplement",
        "supplements": SHAPES,
        "concept": [{"code": "square", "designation": [{"language": "fr", "value": "Carré"}]}],
    }
    square = CodeSystemView(shapes(), [supplement]).locate("square")
    assert [(d.language, d.value, d.source) for d in square.designations][-1] == (
        "fr",
        "Carré",
        "http://x/supp|1",
    )


def test_filters__operators_on_concepts_and_properties() -> None:
    view = CodeSystemView(shapes())

    def run(prop: str, op: str, value: str) -> list[str]:
        compiled = compile_filter(view, prop, op, value)
        return [c.code for c in view if compiled.matches(c)]

    assert run("concept", "descendent-of", "quadrilateral") == ["square", "rhombus"]
    assert run("concept", "is-not-a", "polygon") == ["circle"]
    assert run("concept", "child-of", "polygon") == ["triangle", "quadrilateral"]
    assert run("concept", "generalizes", "square") == ["polygon", "quadrilateral", "square"]
    assert run("code", "in", "circle,square") == ["square", "circle"]
    assert run("sides", "not-in", "4") == ["polygon", "triangle", "circle"]
    assert run("sides", "exists", "false") == ["polygon", "circle"]
    assert run("display", "regex", "Tri.*") == ["triangle"]
    with pytest.raises(UnknownFilterError):
        compile_filter(view, "colour", "=", "red")


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("(a+)+b", "a" * 100_000 + "c", False),
        ("(a+)+b", "aaab", True),
        ("(a*)*b", "a" * 100_000, False),
        ("(x+x+)+y", "x" * 50_000 + "y", True),
        ("(.*a){20}", "a" * 5_000 + "b", False),
    ],
)
def test_regex__catastrophic_backtracking_patterns_run_in_linear_time(pattern, text, matches) -> None:
    started = time.monotonic()
    assert bool(compile_regex(pattern).fullmatch(text)) is matches
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("pattern", [r"(a)\1", "(?=a)a", "[", "a{2000}", "x" * 1001])
def test_regex__what_re2_cannot_run_is_refused_as_invalid(pattern: str) -> None:
    with pytest.raises(UnsafePatternError):
        compile_regex(pattern)


def test_regex__ordinary_patterns_match_the_whole_value() -> None:
    assert compile_regex(r"[^ \t]{4}[0-9]").fullmatch("code1")
    assert compile_regex("o[a-z]*").fullmatch("old")
    assert not compile_regex("o[a-z]*").fullmatch("gold")


def test_text_index__every_word_must_start_a_word() -> None:
    index = CodeSystemView(shapes()).text_index()
    assert index.search("qua") == {"quadrilateral", "square"}  # square via its German designation "Quadrat"
    assert index.search("quad rilateral") == set()
    assert index.search("quadri") == {"quadrilateral"}
    assert index.search("circle") == {"circle"}


def test_registry_overlay__caches_indexes_on_the_layer_that_owns_the_resource() -> None:
    shared = Registry()
    shared.add(shapes())
    first = TxContext(shared.overlay(), TxOptions()).code_system(SHAPES)
    second = TxContext(shared.overlay(), TxOptions()).code_system(SHAPES)
    assert first is second
    overlay = shared.overlay()
    overlay.add(shapes("3.0.0"))
    local = TxContext(overlay, TxOptions()).code_system(SHAPES)
    assert local.version == "3.0.0"
    assert not any(key[1] == id(local.resource) for key in shared._cache)


def test_convert__r4_concept_map_shapes_become_r5() -> None:
    r4 = {
        "resourceType": "ConceptMap",
        "group": [
            {
                "element": [
                    {
                        "code": "a",
                        "target": [
                            {
                                "code": "b",
                                "equivalence": "wider",
                                "dependsOn": [{"property": "http://p", "system": "http://s", "value": "v"}],
                            }
                        ],
                    }
                ]
            }
        ],
    }
    target = conceptmap_to_r5(r4)["group"][0]["element"][0]["target"][0]
    assert target["relationship"] == "source-is-narrower-than-target"
    assert target["dependsOn"] == [
        {"attribute": "http://p", "valueCoding": {"system": "http://s", "code": "v"}}
    ]
    out = translate_result_to_r4(
        {"parameter": [{"name": "match", "part": [{"name": "relationship", "valueCode": "equivalent"}]}]}
    )
    assert out["parameter"][0]["part"][0] == {"name": "equivalence", "valueCode": "equivalent"}


def test_convert__expansion_without_properties__is_unchanged_for_r4() -> None:
    vs = {"resourceType": "ValueSet", "expansion": {"contains": [{"code": "a"}]}}
    assert value_set_to_r4(vs) is vs


@pytest.mark.parametrize(("op", "include_root"), [("is-a", True), ("descendent-of", False)])
def test_filters__subtree_membership__same_answers_walking_up_or_from_the_collected_subtree(
    op: str, include_root: bool
) -> None:
    def node(i: int) -> dict:
        return {"code": f"n{i}", "property": [{"code": "parent", "valueCode": f"n{(i - 1) // 3}"}]}

    concepts = [{"code": "n0"}, *(node(i) for i in range(1, 200))]
    view = CodeSystemView({"url": "http://example.org/tree", "concept": concepts})
    expected = set(view.descendants("n1")) | ({"n1"} if include_root else set())
    asked = compile_filter(view, "concept", op, "n1")
    # More questions than the walk-up budget, so both ways of answering are exercised.
    answers = {c.code for c in view if asked.matches(c)}
    assert answers == expected
    assert set(compile_filter(view, "concept", op, "n1").candidates()) == expected
    assert "n4" in expected and "n2" not in expected


def test_shape__names_the_elements_of_the_wrong_json_kind_including_contained_ones() -> None:
    from plugin.terminology.model import shape

    value_set = {
        "resourceType": "ValueSet",
        "version": 2,
        "compose": {"include": [{"system": "http://x", "concept": [{"code": None}]}]},
        "contained": [{"resourceType": "CodeSystem", "caseSensitive": "yes"}],
    }
    assert shape.problems(value_set) == [
        "ValueSet.version: expected a string",
        "ValueSet.compose.include[0].concept[0].code: null is not allowed in FHIR JSON",
        "ValueSet.contained[0].caseSensitive: expected a boolean",
    ]
    assert shape.problems({"resourceType": "CodeSystem", "concept": [{"code": "a", "display": "A"}]}) == []


def test_each_version__star_and_versionless_items_stand_for_every_version() -> None:
    from plugin.terminology.model.resources import each_version

    items = [
        {"system": "http://x", "version": "*"},
        {"system": "http://x"},
        {"system": "http://y"},
        {"valueSet": ["http://vs"]},
    ]
    versions = {"http://x": ["1", "2"], "http://y": ["9"]}
    out = each_version(items, lambda system: versions.get(system, []), versionless={"http://x"})
    assert out == [
        ({"system": "http://x", "version": "1"}, 0),
        ({"system": "http://x", "version": "2"}, 0),
        ({"system": "http://x", "version": "1"}, 1),
        ({"system": "http://x", "version": "2"}, 1),
        ({"system": "http://y"}, 2),
        ({"valueSet": ["http://vs"]}, 3),
    ]
