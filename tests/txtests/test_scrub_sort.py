"""Scrubbing and sorting of actual responses, on hand-made resources."""

from __future__ import annotations

from tools.txtests.scrub import scrub_resource
from tools.txtests.sort import sort_resource

MSG_ID = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id"
UNKNOWN = "http://example.org/StructureDefinition/server-private"


def p(name: str, **value) -> dict:
    return {"name": name, **value}


def names(params: list[dict]) -> list[str]:
    return [x["name"] for x in params]


# -- scrub ---------------------------------------------------------------------------------------


def test_scrub_parameters__drops_meta_and_diagnostics_parameters() -> None:
    resource = {
        "resourceType": "Parameters",
        "meta": {"lastUpdated": "2026-11-25T00:00:00Z"},
        "parameter": [p("result", valueBoolean=True), p("diagnostics", valueString="took 3 ms")],
    }
    scrub_resource(resource)
    assert resource == {"resourceType": "Parameters", "parameter": [p("result", valueBoolean=True)]}


def test_scrub__keeps_managed_and_relative_extensions_and_drops_the_rest() -> None:
    resource = {
        "resourceType": "ValueSet",
        "text": {"status": "generated", "div": "<div/>"},
        "meta": {"versionId": "1"},
        "extension": [
            {"url": UNKNOWN, "valueString": "x"},
            {
                "url": "http://hl7.org/fhir/StructureDefinition/valueset-supplement",
                "valueCanonical": "http://s",
            },
        ],
        "expansion": {
            "contains": [
                {
                    "code": "a",
                    "extension": [{"url": UNKNOWN, "valueBoolean": True}],
                    "designation": [
                        {
                            "value": "A",
                            "extension": [
                                {
                                    "url": "http://hl7.org/fhir/StructureDefinition/coding-sctdescid",
                                    "valueId": "1",
                                },
                                {"url": "local-only", "valueString": "kept: relative URL"},
                            ],
                        }
                    ],
                }
            ]
        },
    }
    scrub_resource(resource)
    assert "text" not in resource and "meta" not in resource
    assert [e["url"] for e in resource["extension"]] == [
        "http://hl7.org/fhir/StructureDefinition/valueset-supplement"
    ]
    item = resource["expansion"]["contains"][0]
    assert "extension" not in item
    assert [e["url"] for e in item["designation"][0]["extension"]] == [
        "http://hl7.org/fhir/StructureDefinition/coding-sctdescid",
        "local-only",
    ]


def test_scrub__does_not_enter_value_set_compose_but_scrubs_compose_itself() -> None:
    resource = {
        "resourceType": "ValueSet",
        "compose": {
            "extension": [{"url": UNKNOWN, "valueString": "dropped"}],
            "include": [{"concept": [{"code": "a", "extension": [{"url": UNKNOWN, "valueString": "kept"}]}]}],
        },
    }
    scrub_resource(resource)
    assert "extension" not in resource["compose"]
    assert resource["compose"]["include"][0]["concept"][0]["extension"][0]["valueString"] == "kept"


def test_scrub_operation_outcome__drops_diagnostic_only_issues_and_blanks_diagnostics() -> None:
    resource = {
        "resourceType": "OperationOutcome",
        "text": {"status": "generated", "div": "<div/>"},
        "issue": [
            {
                "extension": [
                    {"url": MSG_ID, "valueString": "Unknown_Code"},
                    {"url": UNKNOWN, "valueString": "x"},
                ],
                "severity": "error",
                "code": "not-found",
                "details": {"text": "Unknown code"},
                "diagnostics": "stack trace ...",
            },
            {"severity": "information", "code": "informational", "diagnostics": "timing: 3 ms"},
            {"severity": "information", "code": "informational", "diagnostics": "X-Request-Id: txTests:a/b"},
        ],
    }
    scrub_resource(resource)
    assert resource == {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "extension": [{"url": MSG_ID, "valueString": "Unknown_Code"}],
                "severity": "error",
                "code": "not-found",
                "details": {"text": "Unknown code"},
            },
            {"severity": "information", "code": "informational", "diagnostics": "X-Request-Id: txTests:a/b"},
        ],
    }


def test_scrub_parameters__scrubs_nested_resources_by_their_type() -> None:
    resource = {
        "resourceType": "Parameters",
        "parameter": [
            p(
                "issues",
                resource={
                    "resourceType": "OperationOutcome",
                    "meta": {"versionId": "2"},
                    "issue": [
                        {"severity": "error", "code": "x", "details": {"text": "t"}, "diagnostics": "d"}
                    ],
                },
            )
        ],
    }
    scrub_resource(resource)
    assert resource["parameter"][0]["resource"] == {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "x", "details": {"text": "t"}}],
    }


def test_scrub__leaves_capability_statements_alone() -> None:
    caps = {"resourceType": "CapabilityStatement", "text": {"div": "<div/>"}, "extension": [{"url": UNKNOWN}]}
    scrub_resource(caps)
    assert "text" in caps and caps["extension"] == [{"url": UNKNOWN}]


# -- sort ----------------------------------------------------------------------------------------


def test_sort_parameters__by_name_stably() -> None:
    resource = {
        "resourceType": "Parameters",
        "parameter": [p("system"), p("result"), p("issues", valueString="1"), p("issues", valueString="2")],
    }
    sort_resource(resource)
    assert [(x["name"], x.get("valueString")) for x in resource["parameter"]] == [
        ("issues", "1"),
        ("issues", "2"),
        ("result", None),
        ("system", None),
    ]


def test_sort_parameters__properties_by_lower_cased_code_then_value() -> None:
    def prop(code: str, value: str) -> dict:
        return p("property", part=[p("value", valueString=value), p("code", valueCode=code)])

    resource = {
        "resourceType": "Parameters",
        "parameter": [
            prop("status", "b"),
            prop("Parent", "x"),
            prop("status", "A"),
            p("name", valueString="n"),
        ],
    }
    sort_resource(resource)
    order = [
        (x["name"], [y.get("valueCode", y.get("valueString")) for y in x.get("part", [])])
        for x in resource["parameter"]
    ]
    # parts are sorted by name too (code before value)
    assert order == [
        ("name", []),
        ("property", ["Parent", "x"]),
        ("property", ["status", "A"]),
        ("property", ["status", "b"]),
    ]


def test_sort_parameters__designations_by_language_then_value() -> None:
    def designation(value: str, language: str | None = None) -> dict:
        parts = [p("value", valueString=value)]
        if language:
            parts.append(p("language", valueCode=language))
        return p("designation", part=parts)

    resource = {
        "resourceType": "Parameters",
        "parameter": [
            designation("Zwei", "de"),
            designation("two"),
            designation("Deux", "fr"),
            designation("Eins", "de"),
        ],
    }
    sort_resource(resource)
    values = [
        next(x["valueString"] for x in d["part"] if x["name"] == "value") for d in resource["parameter"]
    ]
    assert values == ["two", "Eins", "Zwei", "Deux"]


def test_sort_parameters__a_single_parameter_keeps_its_parts_in_order_as_upstream() -> None:
    # Upstream sorts parts only while comparing two parameters; a lone parameter is never compared.
    resource = {
        "resourceType": "Parameters",
        "parameter": [p("match", part=[p("relationship"), p("concept")])],
    }
    sort_resource(resource)
    assert names(resource["parameter"][0]["part"]) == ["relationship", "concept"]


def test_sort_parameters__message_pieces_are_sorted_and_rejoined() -> None:
    resource = {
        "resourceType": "Parameters",
        "parameter": [p("message", valueString="Zulu problem; Alpha problem")],
    }
    sort_resource(resource)
    assert resource["parameter"][0] == p("message", valueString="Alpha problem; Zulu problem")


def test_sort_parameters__nested_issues_by_severity_code_expression_text() -> None:
    def issue(severity: str, code: str, expression: str, text: str) -> dict:
        return {"severity": severity, "code": code, "expression": [expression], "details": {"text": text}}

    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            issue("warning", "invalid", "code", "a"),
            issue("error", "not-found", "system", "b"),
            issue("error", "invalid", "display", "d"),
            issue("error", "invalid", "code", "z"),
            issue("error", "invalid", "code", "c"),
        ],
    }
    resource = {"resourceType": "Parameters", "parameter": [p("issues", resource=outcome), p("result")]}
    sort_resource(resource)
    assert [i["details"]["text"] for i in outcome["issue"]] == ["c", "z", "d", "b", "a"]


def test_sort__leaves_a_top_level_operation_outcome_as_it_came() -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "warning"}, {"severity": "error"}]}
    sort_resource(outcome)
    assert [i["severity"] for i in outcome["issue"]] == ["warning", "error"]


def test_sort_value_set__expansion_parameters_properties_and_contains() -> None:
    resource = {
        "resourceType": "ValueSet",
        "extension": [{"url": "http://b"}, {"url": "http://a"}],
        "expansion": {
            "parameter": [
                p("used-codesystem", valueUri="http://s|2"),
                p("excludeNested", valueBoolean=True),
                p("used-codesystem", valueUri="http://s|1"),
            ],
            "property": [
                {"code": "status", "uri": "http://z"},
                {"code": "b"},
                {"code": "a", "uri": "http://z"},
            ],
            "contains": [
                {
                    "code": "b",
                    "designation": [
                        {"value": "Zed"},
                        {"language": "fr", "value": "Bé"},
                        {"language": "de", "value": "Be"},
                    ],
                    "property": [{"code": "status"}, {"code": "parent"}],
                    "contains": [{"code": "b2"}, {"code": "b1"}],
                },
                {"code": "a"},
            ],
        },
    }
    sort_resource(resource)
    assert [e["url"] for e in resource["extension"]] == ["http://a", "http://b"]
    expansion = resource["expansion"]
    assert [(x["name"], x.get("valueUri")) for x in expansion["parameter"]] == [
        ("excludeNested", None),
        ("used-codesystem", "http://s|1"),
        ("used-codesystem", "http://s|2"),
    ]
    assert [x["code"] for x in expansion["property"]] == [
        "b",
        "a",
        "status",
    ]  # no uri first, then by uri, code
    assert [x["code"] for x in expansion["contains"]] == ["a", "b"]
    b = expansion["contains"][1]
    assert [x["code"] for x in b["contains"]] == ["b1", "b2"]
    assert [x["code"] for x in b["property"]] == ["parent", "status"]
    assert [x["value"] for x in b["designation"]] == ["Be", "Bé", "Zed"]


def test_sort__java_string_order_puts_upper_case_before_lower_case() -> None:
    resource = {"resourceType": "Parameters", "parameter": [p("b"), p("a"), p("B")]}
    sort_resource(resource)
    assert names(resource["parameter"]) == ["B", "a", "b"]


def test_sort__malformed_lists_are_left_for_the_comparison_to_report() -> None:
    resource = {"resourceType": "Parameters", "parameter": ["not an object", p("a")]}
    sort_resource(resource)
    assert resource["parameter"][0] == "not an object"


def test_without_issue_locations__drops_location_of_issues_only() -> None:
    from tools.txtests.scrub import without_issue_locations

    outcome = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "location", "valueString": "kept: a parameter, not an issue"},
            {
                "name": "issues",
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {
                            "severity": "error",
                            "code": "invalid",
                            "location": ["Coding.code"],
                            "expression": ["Coding.code"],
                        }
                    ],
                },
            },
        ],
    }
    stripped = without_issue_locations(outcome)
    issue = stripped["parameter"][1]["resource"]["issue"][0]
    assert "location" not in issue and issue["expression"] == ["Coding.code"]
    assert stripped["parameter"][0] == outcome["parameter"][0]
    assert "location" in outcome["parameter"][1]["resource"]["issue"][0], "the input is not changed"
