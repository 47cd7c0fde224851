"""Loading and selecting tests, building request bodies, the GET-or-POST rule, the R5 <-> R4
conversions, and the gate's refusal to run without the pinned folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.txtests.client import all_primitive, query_items
from tools.txtests.convert import concept_map_r5_to_r4, resource_r4_to_r5
from tools.txtests.manifest import ManifestError, Selection, TxTest, load_manifest, skip_reason
from tools.txtests.runner import build_request


def test_pinned_manifest__has_16_suites_and_448_tests(pinned_tests_dir) -> None:
    manifest = load_manifest(pinned_tests_dir)
    assert len(manifest.suites) == 16
    assert manifest.total_tests == 448
    assert manifest.load("parameters-default.json")["parameter"][0]["name"] == "uuid"


def test_pinned_manifest__every_named_file_loads(pinned_tests_dir) -> None:
    manifest = load_manifest(pinned_tests_dir)
    names = {name for suite in manifest.suites for name in suite.setup}
    for suite in manifest.suites:
        for test in suite.tests:
            names.update(
                v for k, v in test.spec.items() if k.split(":")[0] in ("request", "response", "profile")
            )
    for name in sorted(names):
        assert isinstance(manifest.load(name), dict), name


def test_missing_pinned_folder__fails_the_gate_with_a_clear_message(tmp_path, require_pinned_tests) -> None:
    with pytest.raises(pytest.fail.Exception, match="pinned tx-ecosystem tests are missing"):
        require_pinned_tests(tmp_path / "tests" / "data" / "tx-ecosystem")


def test_manifest__missing_or_broken_file_is_a_manifest_error(tmp_path) -> None:
    with pytest.raises(ManifestError, match="no test-cases.json"):
        load_manifest(tmp_path)
    (tmp_path / "test-cases.json").write_text("{ not json")
    with pytest.raises(ManifestError, match="not valid JSON"):
        load_manifest(tmp_path)
    (tmp_path / "test-cases.json").write_text(json.dumps({"suites": []}))
    with pytest.raises(ManifestError, match="missing: nope.json"):
        load_manifest(tmp_path).load("nope.json")


def test_manifest__reads_files_with_a_byte_order_mark(tmp_path) -> None:
    (tmp_path / "test-cases.json").write_bytes(b"\xef\xbb\xbf" + json.dumps({"suites": []}).encode())
    assert load_manifest(tmp_path).suites == []


@pytest.mark.parametrize(
    ("spec", "modes", "reason"),
    [
        ({}, ["general"], None),
        ({"mode": "general"}, ["general"], None),
        ({"mode": "tx.fhir.org"}, ["general"], "mode tx.fhir.org not selected"),
        ({"mode": "tx.fhir.org"}, ["general", "tx.fhir.org"], None),
        ({"modes": ["snomed", "loinc"]}, ["loinc"], None),
        ({"modes": ["snomed", "loinc"]}, ["general"], "modes snomed/loinc not selected"),
        ({"disabled": True}, ["general"], "disabled"),
    ],
)
def test_skip_reason__follows_modes_and_disabled(spec, modes, reason) -> None:
    assert skip_reason(spec, modes, None) == reason


def test_skip_reason__version_key_runs_every_variant_unless_a_test_version_is_given() -> None:
    assert skip_reason({"version": "5.0"}, ["general"], None) is None
    assert skip_reason({"version": "5.0"}, ["general"], "5.0") is None
    assert skip_reason({"version": "4.0"}, ["general"], "5.0") == "version 4.0 does not match 5.0"


def test_response_alternate__is_used_when_its_mode_is_selected() -> None:
    test = TxTest(
        "parameters", "t", {"response": "plain.json", "response:flat": "flat.json", "profile": "p.json"}
    )
    assert test.choose("response", ["general"]) == "plain.json"
    assert test.choose("response", ["general", "flat"]) == "flat.json"
    assert test.profile == "p.json"
    assert TxTest("s", "t", {}).profile == "parameters-default.json"


def test_selection__by_suite_by_test_name_or_suite_slash_name_and_by_substring() -> None:
    a, b = TxTest("s1", "expand-all", {}), TxTest("s2", "validate-code", {})
    assert Selection(tests=frozenset({"expand-all"})).wants_test(a)
    assert Selection(tests=frozenset({"s2/validate-code"})).wants_test(b)
    assert not Selection(tests=frozenset({"s2/validate-code"})).wants_test(a)
    assert Selection(filter="valid").wants_test(b) and not Selection(filter="valid").wants_test(a)


def test_build_request__request_then_setup_as_tx_resource_then_profile() -> None:
    request = {"resourceType": "Parameters", "parameter": [{"name": "url", "valueUri": "http://vs"}]}
    setup = [{"resourceType": "CodeSystem", "url": "http://cs"}]
    profile = {"resourceType": "Parameters", "parameter": [{"name": "uuid", "valueUuid": "urn:uuid:1"}]}
    body = build_request("expand", request, setup, profile)
    assert [p["name"] for p in body["parameter"]] == ["url", "tx-resource", "uuid"]
    assert request["parameter"] == [{"name": "url", "valueUri": "http://vs"}]  # the test file is not changed


def test_build_request__expand_url_must_be_a_uri_or_derived_type_as_upstream_checks() -> None:
    request = {"resourceType": "Parameters", "parameter": [{"name": "url", "valueString": "http://vs"}]}
    with pytest.raises(ManifestError, match="not a uri"):
        build_request("expand", request, [], {"parameter": []})
    request["parameter"] = [{"name": "url", "valueUrl": "http://vs"}]
    assert build_request("expand", request, [], {"parameter": []})["parameter"] == request["parameter"]


def test_get_or_post__only_all_primitive_parameters_go_in_a_query_string() -> None:
    primitive = {
        "parameter": [
            {"name": "url", "valueUri": "http://vs"},
            {"name": "activeOnly", "valueBoolean": True},
            {"name": "code", "valueCode": "a b"},
        ]
    }
    assert all_primitive(primitive)
    assert query_items(primitive) == [("url", "http://vs"), ("activeOnly", "true"), ("code", "a b")]
    coding = {"parameter": [{"name": "coding", "valueCoding": {"system": "http://cs", "code": "a"}}]}
    resource = {"parameter": [{"name": "tx-resource", "resource": {"resourceType": "CodeSystem"}}]}
    assert not all_primitive(coding) and not all_primitive(resource)


def test_r5_to_r4__concept_map_relationships_become_equivalences() -> None:
    r5 = {
        "resourceType": "ConceptMap",
        "sourceScopeUri": "http://vs/source",
        "targetScopeCanonical": "http://vs/target",
        "group": [
            {
                "element": [
                    {"code": "1", "target": [{"code": "a", "relationship": "equivalent"}]},
                    {
                        "code": "2",
                        "target": [{"code": "b", "relationship": "source-is-narrower-than-target"}],
                    },
                    {"code": "3", "target": [{"code": "c", "relationship": "not-related-to"}]},
                    {"code": "4", "noMap": True},
                ],
                "unmapped": {"mode": "use-source-code", "relationship": "equivalent"},
            }
        ],
    }
    r4 = concept_map_r5_to_r4(r5)
    assert r4["sourceUri"] == "http://vs/source" and r4["targetCanonical"] == "http://vs/target"
    elements = r4["group"][0]["element"]
    # not-related-to -> unmatched, as the FHIR cross-version map ConceptMap5to4 has it (the server's table).
    assert [t["equivalence"] for e in elements for t in e["target"]] == [
        "equivalent",
        "wider",
        "unmatched",
        "unmatched",
    ]
    assert r4["group"][0]["unmapped"] == {"mode": "provided"}
    assert "relationship" in r5["group"][0]["element"][0]["target"][0]  # the input is left alone


def test_r4_to_r5__expansion_property_extensions_become_elements() -> None:
    xver = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion"
    r4 = {
        "resourceType": "ValueSet",
        "expansion": {
            "extension": [
                {"url": xver + ".property", "extension": [{"url": "code", "valueCode": "status"}]},
                {"url": "http://other", "valueString": "kept"},
            ],
            "contains": [
                {
                    "code": "a",
                    "extension": [
                        {
                            "url": xver + ".contains.property",
                            "extension": [
                                {"url": "code", "valueCode": "status"},
                                {"url": "value", "valueCode": "active"},
                            ],
                        }
                    ],
                }
            ],
        },
    }
    r5 = resource_r4_to_r5(r4)
    assert r5["expansion"]["property"] == [{"code": "status"}]
    assert r5["expansion"]["extension"] == [{"url": "http://other", "valueString": "kept"}]
    assert r5["expansion"]["contains"][0] == {
        "code": "a",
        "property": [{"code": "status", "valueCode": "active"}],
    }


def test_runner_files__stay_small() -> None:
    for path in Path(__file__).resolve().parents[2].joinpath("plugin", "txtests").glob("*.py"):
        assert len(path.read_text().splitlines()) < 420, path.name


def test_txtests_command__default_folder_is_the_committed_pinned_suite(pinned_tests_dir) -> None:
    from plugin.cli import build_parser

    args = build_parser().parse_args(["txtests", "--url", "http://127.0.0.1:9/fhir"])
    assert args.tests_dir.resolve() == pinned_tests_dir.resolve()
    assert load_manifest(args.tests_dir).total_tests == 448
