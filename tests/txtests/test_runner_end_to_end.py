"""`cpt-plugin txtests` end to end: a tiny test folder written to tmp_path, run over real HTTP against
a small stand-in terminology server (Flask, on loopback) that records what it received."""

from __future__ import annotations

import json
import random
import socket
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request

from plugin.cli import main
from tools.txtests import fhirjson
from tools.txtests.manifest import load_manifest

CS_URL = "http://example.org/fhir/CodeSystem/demo"
VS_URL = "http://example.org/fhir/ValueSet/demo"


# -- the test folder -------------------------------------------------------------------------------


def write(folder: Path, name: str, content: Any) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2), encoding="utf-8")


def parameters(*params: dict) -> dict:
    return {"resourceType": "Parameters", "parameter": list(params)}


def validate_answer(message: str) -> dict:
    """What the stand-in answers to $validate-code: out of order, with meta and diagnostics to scrub."""
    return {
        "resourceType": "Parameters",
        "meta": {"lastUpdated": "2026-11-25T09:00:00Z"},
        "parameter": [
            {"name": "system", "valueUri": CS_URL},
            {"name": "message", "valueString": message},
            {"name": "diagnostics", "valueString": "took 2 ms"},
            {"name": "display", "valueString": "Alpha"},
            {"name": "result", "valueBoolean": True},
            {"name": "code", "valueCode": "a"},
            {"name": "version", "valueString": "1.0.0"},
        ],
    }


def expected_validate(message: str) -> dict:
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "code", "valueCode": "a"},
            {"name": "display", "valueString": "Alpha"},
            {"name": "message", "valueString": message},
            {"name": "result", "valueBoolean": True},
            {"name": "system", "valueUri": CS_URL},
            {"$optional$": "warning:version", "name": "version", "valueString": "1.0.0"},
        ],
    }


def build_folder(folder: Path) -> Path:
    code_system = {
        "resourceType": "CodeSystem",
        "url": CS_URL,
        "version": "1.0.0",
        "status": "active",
        "content": "complete",
        "concept": [{"code": "a", "display": "Alpha"}],
    }
    value_set = {
        "resourceType": "ValueSet",
        "url": VS_URL,
        "status": "active",
        "compose": {"include": [{"system": CS_URL}]},
    }
    write(folder, "demo/codesystem.json", code_system)
    write(folder, "demo/valueset.json", value_set)
    write(
        folder,
        "parameters-default.json",
        parameters({"name": "uuid", "valueUuid": "urn:uuid:8acdbfdc-e9d2-11ed-a05b-0242ac120003"}),
    )
    write(
        folder,
        "demo/profile-check.json",
        parameters({"name": "check-system-version", "valueCanonical": CS_URL + "|1.0.0"}),
    )
    vc_request = parameters(
        {"name": "url", "valueUri": VS_URL},
        {"name": "code", "valueCode": "a"},
        {"name": "system", "valueUri": CS_URL},
    )
    write(folder, "demo/validate-request.json", vc_request)
    write(folder, "demo/validate-good-response.json", expected_validate("$fragments:code|is fine$"))
    write(folder, "demo/validate-bad-response.json", expected_validate("The code is valid"))
    write(
        folder,
        "demo/expand-unknown-request.json",
        parameters({"name": "url", "valueUri": VS_URL + "-unknown"}),
    )
    write(
        folder,
        "demo/expand-unknown-response.json",
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {"severity": "error", "code": "not-found", "details": {"text": "$external:1:unknown$"}}
            ],
        },
    )
    write(
        folder,
        "demo/lookup-request.json",
        parameters({"name": "system", "valueUri": CS_URL}, {"name": "code", "valueCode": "a"}),
    )
    write(
        folder,
        "demo/lookup-response.json",
        parameters({"name": "display", "valueString": "Alpha"}, {"name": "name", "valueString": "Demo"}),
    )
    write(folder, "demo/broken-request.json", parameters({"name": "code", "valueCode": "boom"}))
    write(folder, "demo/broken-response.json", parameters({"name": "result", "valueBoolean": True}))
    write(
        folder,
        "plain/validate-request.json",
        parameters({"name": "url", "valueUri": VS_URL}, {"name": "code", "valueCode": "a"}),
    )
    write(folder, "plain/validate-response.json", parameters({"name": "result", "valueBoolean": True}))
    write(
        folder,
        "test-cases.json",
        {
            "introduction": "tiny test folder",
            "suites": [
                {
                    "name": "demo",
                    "mode": "general",
                    "description": "a suite with setup",
                    "setup": ["demo/codesystem.json", "demo/valueset.json"],
                    "tests": [
                        {
                            "name": "validate-good",
                            "operation": "validate-code",
                            "request": "demo/validate-request.json",
                            "response": "demo/validate-good-response.json",
                            "profile": "demo/profile-check.json",
                        },
                        {
                            "name": "validate-bad",
                            "operation": "validate-code",
                            "request": "demo/validate-request.json",
                            "response": "demo/validate-bad-response.json",
                        },
                        {
                            "name": "expand-unknown",
                            "operation": "expand",
                            "http-code": "4xx",
                            "request": "demo/expand-unknown-request.json",
                            "response": "demo/expand-unknown-response.json",
                        },
                        {
                            "name": "lookup-german",
                            "operation": "lookup",
                            "Accept-Language": "de",
                            "request": "demo/lookup-request.json",
                            "response": "demo/lookup-response.json",
                        },
                        {
                            "name": "server-breaks",
                            "operation": "cs-validate-code",
                            "request": "demo/broken-request.json",
                            "response": "demo/broken-response.json",
                        },
                        {
                            "name": "internal-only",
                            "mode": "tx.fhir.org",
                            "operation": "lookup",
                            "request": "demo/lookup-request.json",
                            "response": "demo/lookup-response.json",
                        },
                    ],
                },
                {
                    "name": "plain",
                    "mode": "general",
                    "description": "no setup, all parameters primitive",
                    "setup": [],
                    "tests": [
                        {
                            "name": "validate-get",
                            "operation": "validate-code",
                            "request": "plain/validate-request.json",
                            "response": "plain/validate-response.json",
                        },
                    ],
                },
                {
                    "name": "snomed-only",
                    "mode": "snomed",
                    "setup": [],
                    "tests": [
                        {
                            "name": "never",
                            "operation": "lookup",
                            "request": "demo/lookup-request.json",
                            "response": "demo/lookup-response.json",
                        }
                    ],
                },
            ],
        },
    )
    return folder


# -- the stand-in server --------------------------------------------------------------------------


def stand_in_server(
    received: list[dict[str, Any]], fhir_version: str = "5.0", cache_control: bool = False
) -> Flask:
    app = Flask("stand-in")

    @app.before_request
    def record() -> None:
        received.append(
            {
                "method": request.method,
                "path": request.path,
                "args": request.args.to_dict(flat=False),
                "headers": dict(request.headers),
                "body": request.get_json(silent=True, force=True) if request.data else None,
            }
        )

    @app.get("/fhir/$versions")
    def versions():
        return jsonify(
            {"resourceType": "Parameters", "parameter": [{"name": "default", "valueString": fhir_version}]}
        )

    @app.get("/fhir/metadata")
    def metadata():
        if request.args.get("mode") == "terminology":
            return jsonify({"resourceType": "TerminologyCapabilities", "status": "active"})
        caps = {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "fhirVersion": "5.0.0",
            "software": {"name": "Stand-in", "version": "0.0.1"},
            "rest": [{"mode": "server", "operation": []}],
        }
        if cache_control:
            caps["rest"][0]["operation"].append({"name": "cache-control", "definition": "http://x"})
        return jsonify(caps)

    @app.route("/fhir/$cache-control", methods=["GET", "POST"])
    def cache():
        if request.args.get("mode") == "start":
            return jsonify(parameters({"name": "cache-id", "valueString": "cache-42"}))
        return jsonify(parameters())

    @app.route("/fhir/ValueSet/$validate-code", methods=["GET", "POST"])
    def validate():
        if request.method == "GET":
            return jsonify(parameters({"name": "result", "valueBoolean": True}))
        return jsonify(validate_answer("The code is fine"))

    @app.post("/fhir/CodeSystem/$validate-code")
    def broken():
        return "<html><body>Internal Server Error</body></html>", 500, {"Content-Type": "text/html"}

    @app.post("/fhir/ValueSet/$expand")
    def expand():
        return jsonify(
            {
                "resourceType": "OperationOutcome",
                "text": {"status": "generated", "div": "<div/>"},
                "issue": [
                    {
                        "severity": "error",
                        "code": "not-found",
                        "details": {"text": "A definition for the value set is unknown"},
                        "diagnostics": "internal detail",
                    }
                ],
            }
        ), 404

    @app.post("/fhir/CodeSystem/$lookup")
    def lookup():
        display = "Alpha" if request.headers.get("Accept-Language") == "de" else "English Alpha"
        return jsonify(
            parameters({"name": "name", "valueString": "Demo"}, {"name": "display", "valueString": display})
        )

    return app


def posted(received: list[dict], path: str) -> list[dict]:
    return [r for r in received if r["path"] == path]


# -- tests ----------------------------------------------------------------------------------------


def test_run__reports_passes_failures_and_errors_with_first_differences(tmp_path, serve, capsys) -> None:
    received: list[dict] = []
    server = serve(stand_in_server(received))
    folder = build_folder(tmp_path / "tests")
    report_file = tmp_path / "out" / "report.json"

    status = main(
        ["txtests", "--url", f"{server.url}/fhir", "--tests-dir", str(folder), "--report", str(report_file)]
    )

    out = capsys.readouterr().out.splitlines()
    assert status == 1
    assert out[-1] == "4 passed, 2 failed"
    assert "2 skipped (1 mode tx.fhir.org not selected; 1 mode snomed not selected)" in out
    first_difference = '$.parameter[2].valueString: expected "The code is valid", got "The code is fine"'
    assert f"FAIL demo/validate-bad: {first_difference}" in out
    assert any(
        line.startswith(
            "ERROR demo/server-breaks: POST CodeSystem/$validate-code: HTTP 500 with a body that is not JSON"
        )
        for line in out
    )
    assert not any("validate-good" in line or "expand-unknown" in line for line in out)

    report = json.loads(report_file.read_text())
    assert report["totals"] == {"selected": 8, "passed": 4, "failed": 1, "errors": 1, "skipped": 2}
    assert report["server"]["software"] == {"name": "Stand-in", "version": "0.0.1"}
    assert report["server"]["fhir_version"] == "5.0.0" and report["server"]["version_source"] == "$versions"
    assert len(report["test_cases"]["sha256"]) == 64
    by_name = {t["name"]: t for t in report["tests"]}
    assert by_name["validate-bad"]["difference"] == {
        "path": "$.parameter[2].valueString",
        "message": 'expected "The code is valid", got "The code is fine"',
    }
    assert by_name["expand-unknown"]["status"] == "pass" and by_name["expand-unknown"]["http_status"] == 404
    assert by_name["server-breaks"]["status"] == "error" and by_name["server-breaks"]["http_status"] == 500
    assert by_name["validate-good"]["warnings"] == []
    assert by_name["internal-only"]["status"] == "skipped"
    assert all(t["elapsed_ms"] >= 0 for t in report["tests"])


def test_run__sends_setup_as_tx_resource_then_profile_parameters_and_headers(tmp_path, serve) -> None:
    received: list[dict] = []
    server = serve(stand_in_server(received))
    folder = build_folder(tmp_path / "tests")

    main(["txtests", "--url", f"{server.url}/fhir", "--tests-dir", str(folder), "--suite", "demo"])

    validations = [r for r in posted(received, "/fhir/ValueSet/$validate-code") if r["method"] == "POST"]
    good = next(r for r in validations if r["headers"]["X-Request-Id"] == "txTests:demo/validate-good")
    names = [p["name"] for p in good["body"]["parameter"]]
    assert names == ["url", "code", "system", "tx-resource", "tx-resource", "check-system-version"]
    sent = [p["resource"] for p in good["body"]["parameter"] if p["name"] == "tx-resource"]
    assert [(r["resourceType"], r["url"]) for r in sent] == [("CodeSystem", CS_URL), ("ValueSet", VS_URL)]
    assert good["headers"]["Content-Type"].startswith("application/fhir+json")
    assert "fhirVersion=5.0" in good["headers"]["Accept"]

    bad = next(r for r in validations if r["headers"]["X-Request-Id"] == "txTests:demo/validate-bad")
    assert bad["body"]["parameter"][-1] == {
        "name": "uuid",
        "valueUuid": "urn:uuid:8acdbfdc-e9d2-11ed-a05b-0242ac120003",
    }

    lookup = posted(received, "/fhir/CodeSystem/$lookup")
    assert len(lookup) == 1  # the tx.fhir.org-only test was not sent
    assert lookup[0]["headers"]["Accept-Language"] == "de"
    assert lookup[0]["headers"]["X-Request-Id"] == "txTests:demo/lookup-german"
    assert "Accept-Language" not in good["headers"]


def test_run__validate_code_with_only_primitive_parameters_uses_get(tmp_path, serve, capsys) -> None:
    received: list[dict] = []
    server = serve(stand_in_server(received))
    folder = build_folder(tmp_path / "tests")

    status = main(
        [
            "txtests",
            "--url",
            f"{server.url}/fhir",
            "--tests-dir",
            str(folder),
            "--test",
            "plain/validate-get",
            "-v",
        ]
    )

    out = capsys.readouterr().out.splitlines()
    assert status == 0
    assert out[-1] == "1 passed, 0 failed"
    assert out[0] == "Stand-in 0.0.1: FHIR 5.0 (from $versions)"
    assert out[1].startswith("PASS plain/validate-get (")
    call = posted(received, "/fhir/ValueSet/$validate-code")[0]
    assert call["method"] == "GET"
    assert call["args"] == {
        "url": [VS_URL],
        "code": ["a"],
        "uuid": ["urn:uuid:8acdbfdc-e9d2-11ed-a05b-0242ac120003"],
    }


def test_run__cache_control_loads_the_setup_once_per_suite_when_offered(tmp_path, serve) -> None:
    received: list[dict] = []
    server = serve(stand_in_server(received, cache_control=True))
    folder = build_folder(tmp_path / "tests")

    main(
        [
            "txtests",
            "--url",
            f"{server.url}/fhir",
            "--tests-dir",
            str(folder),
            "--suite",
            "demo",
            "--filter",
            "validate",
        ]
    )

    cache_calls = posted(received, "/fhir/$cache-control")
    assert [c["args"]["mode"] for c in cache_calls] == [["start"], ["end"]]
    assert [p["resource"]["url"] for p in cache_calls[0]["body"]["parameter"]] == [CS_URL, VS_URL]
    assert cache_calls[1]["headers"]["X-Cache-Id"] == "cache-42"
    tests = [r for r in received if r["headers"].get("X-Request-Id", "").startswith("txTests:demo/validate")]
    assert len(tests) == 2
    for call in tests:
        assert call["headers"]["X-Cache-Id"] == "cache-42"
        params = call["body"]["parameter"] if call["body"] else []
        assert "tx-resource" not in [p["name"] for p in params]


def test_run__server_down_is_a_clear_failure_of_every_test_not_a_traceback(tmp_path, capsys) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    folder = build_folder(tmp_path / "tests")

    status = main(["txtests", "--url", f"http://127.0.0.1:{port}/fhir", "--tests-dir", str(folder)])

    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert status == 1
    assert lines[-1] == "0 passed, 6 failed"
    assert all("server unreachable: cannot connect to" in line for line in lines if line.startswith("ERROR"))
    assert "Traceback" not in captured.out + captured.err


def test_run__missing_test_folder_is_a_usage_error(tmp_path, capsys) -> None:
    status = main(["txtests", "--url", "http://127.0.0.1:9/fhir", "--tests-dir", str(tmp_path / "nowhere")])
    assert status == 2
    assert "no test-cases.json" in capsys.readouterr().err


def test_run__against_an_r4_server_converts_requests_and_responses(tmp_path, serve, capsys) -> None:
    received: list[dict] = []
    app = stand_in_server(received, fhir_version="4.0")

    @app.post("/fhir/ConceptMap/$translate")
    def translate():
        return jsonify(
            parameters(
                {"name": "result", "valueBoolean": True},
                {
                    "name": "match",
                    "part": [
                        {"name": "equivalence", "valueCode": "equivalent"},
                        {"name": "concept", "valueCoding": {"system": CS_URL, "code": "b"}},
                    ],
                },
            )
        )

    @app.post("/fhir/ValueSet/$expand")
    def expand_r4():
        prop = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion"
        return jsonify(
            {
                "resourceType": "ValueSet",
                "status": "active",
                "expansion": {
                    "extension": [
                        {
                            "url": prop + ".property",
                            "extension": [
                                {"url": "code", "valueCode": "status"},
                                {"url": "uri", "valueUri": "http://x/status"},
                            ],
                        }
                    ],
                    "timestamp": "2026-11-25T09:00:00Z",
                    "contains": [
                        {
                            "system": CS_URL,
                            "code": "a",
                            "extension": [
                                {
                                    "url": prop + ".contains.property",
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
        )

    app.view_functions["expand"] = expand_r4
    server = serve(app)
    folder = tmp_path / "tests"
    concept_map = {
        "resourceType": "ConceptMap",
        "url": "http://example.org/cm",
        "status": "active",
        "sourceScopeUri": VS_URL,
        "group": [
            {
                "source": CS_URL,
                "target": CS_URL,
                "element": [
                    {"code": "a", "target": [{"code": "b", "relationship": "source-is-broader-than-target"}]}
                ],
            }
        ],
    }
    write(folder, "cm.json", concept_map)
    write(folder, "parameters-default.json", parameters())
    write(folder, "translate-request.json", parameters({"name": "sourceCode", "valueCode": "a"}))
    write(
        folder,
        "translate-response.json",
        parameters(
            {
                "name": "match",
                "part": [
                    {"name": "concept", "valueCoding": {"system": CS_URL, "code": "b"}},
                    {"$optional$": "version:5", "name": "equivalence", "valueCode": "equivalent"},
                    {"$optional$": "version:4", "name": "relationship", "valueCode": "equivalent"},
                ],
            },
            {"name": "result", "valueBoolean": True},
        ),
    )
    write(folder, "expand-request.json", parameters({"name": "url", "valueUri": VS_URL}))
    write(
        folder,
        "expand-response.json",
        {
            "resourceType": "ValueSet",
            "status": "active",
            "expansion": {
                "timestamp": "$instant$",
                "property": [{"code": "status", "uri": "http://x/status"}],
                "contains": [
                    {"system": CS_URL, "code": "a", "property": [{"code": "status", "valueCode": "active"}]}
                ],
            },
        },
    )
    write(
        folder,
        "test-cases.json",
        {
            "suites": [
                {
                    "name": "r4",
                    "setup": ["cm.json"],
                    "tests": [
                        {
                            "name": "translate",
                            "operation": "translate",
                            "request": "translate-request.json",
                            "response": "translate-response.json",
                        },
                        {
                            "name": "expand",
                            "operation": "expand",
                            "request": "expand-request.json",
                            "response": "expand-response.json",
                        },
                    ],
                }
            ]
        },
    )

    status = main(["txtests", "--url", f"{server.url}/fhir", "--tests-dir", str(folder)])

    assert capsys.readouterr().out.splitlines()[-1] == "2 passed, 0 failed"
    assert status == 0
    call = posted(received, "/fhir/ConceptMap/$translate")[0]
    assert "fhirVersion=4.0" in call["headers"]["Accept"]
    sent_map = next(p["resource"] for p in call["body"]["parameter"] if p["name"] == "tx-resource")
    assert sent_map["sourceUri"] == VS_URL and "sourceScopeUri" not in sent_map
    assert sent_map["group"][0]["element"][0]["target"][0] == {"code": "b", "equivalence": "narrower"}


def test_run__an_answer_with_the_wrong_status_class_fails_on_the_status(tmp_path, serve, capsys) -> None:
    received: list[dict] = []
    server = serve(stand_in_server(received))
    folder = build_folder(tmp_path / "tests")
    manifest = json.loads((folder / "test-cases.json").read_text())
    manifest["suites"][0]["tests"][3]["http-code"] = (
        "4xx"  # lookup-german, which the stand-in answers with 200
    )
    write(folder, "test-cases.json", manifest)

    status = main(
        ["txtests", "--url", f"{server.url}/fhir", "--tests-dir", str(folder), "--test", "lookup-german"]
    )

    assert status == 1
    assert capsys.readouterr().out.splitlines() == [
        "FAIL demo/lookup-german: HTTP status: expected 4xx, got 200",
        "0 passed, 1 failed",
    ]


def test_pinned_suite__a_server_giving_every_expected_answer_passes_all_of_it(
    serve, capsys, pinned_tests_dir, materialized, shuffled
) -> None:
    """A replaying stand-in answers each request (found by its X-Request-Id) with the expected file
    filled in, lists reshuffled and server noise added: every general-mode test must pass, so any
    failure against the real server is the server's, not the runner's."""
    manifest = load_manifest(pinned_tests_dir)
    tests = {f"txTests:{t.suite}/{t.name}": t for s in manifest.suites for t in s.tests}
    rng = random.Random(5)
    app = Flask("replay")
    seen: list[str] = []

    @app.get("/fhir/$versions")
    def versions():
        return jsonify(
            {"resourceType": "Parameters", "parameter": [{"name": "default", "valueString": "5.0"}]}
        )

    @app.get("/fhir/metadata")
    def metadata():
        name = "capterms.json" if request.args.get("mode") == "terminology" else "capstmt.json"
        return Response(
            fhirjson.dumps(materialized(manifest.load(name))), content_type="application/fhir+json"
        )

    @app.route("/fhir/<path:operation>", methods=["GET", "POST"])
    def answer(operation: str):
        test = tests[request.headers["X-Request-Id"]]
        seen.append(test.id)
        body = materialized(manifest.load(test.choose("response", ["general"])))
        shuffled(body, rng)
        if body.get("resourceType") == "Parameters":
            body["meta"] = {"lastUpdated": "2026-11-25T09:00:00Z"}
            body["parameter"].append({"name": "diagnostics", "valueString": "served by the replay stand-in"})
        status = 400 if test.http_code == "4xx" else 200
        return Response(fhirjson.dumps(body), status, content_type="application/fhir+json")

    server = serve(app)
    status = main(["txtests", "--url", f"{server.url}/fhir", "--tests-dir", str(pinned_tests_dir)])

    assert capsys.readouterr().out.splitlines()[-2:] == [
        "3 skipped (mode tx.fhir.org not selected)",
        "445 passed, 0 failed",
    ]
    assert status == 0
    assert len(seen) == 443  # 445 general-mode tests, less the two metadata ones answered from metadata


def test_run__defects_of_the_upstream_manifest_are_errors_of_the_tests_concerned(
    tmp_path, serve, capsys
) -> None:
    """The full upstream manifest names a missing setup file (icd-11/vs1.json) and newer operations:
    only the tests concerned become errors, the rest of the run goes on."""
    received: list[dict] = []
    server = serve(stand_in_server(received))
    folder = build_folder(tmp_path / "tests")
    manifest = json.loads((folder / "test-cases.json").read_text())
    manifest["suites"].append(
        {
            "name": "broken-setup",
            "setup": ["icd-11/vs1.json"],
            "tests": [
                {
                    "name": "t1",
                    "operation": "lookup",
                    "request": "demo/lookup-request.json",
                    "response": "demo/lookup-response.json",
                }
            ],
        }
    )
    manifest["suites"].append(
        {
            "name": "newer",
            "setup": [],
            "tests": [
                {
                    "name": "related-all",
                    "operation": "related",
                    "request": "demo/lookup-request.json",
                    "response": "demo/lookup-response.json",
                },
                {
                    "name": "no-such-file",
                    "operation": "lookup",
                    "request": "demo/lookup-request.json",
                    "response": "demo/missing-response.json",
                },
            ],
        }
    )
    write(folder, "test-cases.json", manifest)

    status = main(
        [
            "txtests",
            "--url",
            f"{server.url}/fhir",
            "--tests-dir",
            str(folder),
            "--suite",
            "broken-setup",
            "--suite",
            "newer",
            "--suite",
            "plain",
        ]
    )

    assert status == 1
    assert capsys.readouterr().out.splitlines() == [
        "ERROR broken-setup/t1: suite setup: file named by the manifest is missing: icd-11/vs1.json",
        "ERROR newer/related-all: operation 'related' is not supported by this runner",
        "ERROR newer/no-such-file: test files: file named by the manifest is missing: "
        "demo/missing-response.json",
        "3 of the failures are errors (no usable answer, or broken test files)",
        "1 passed, 3 failed",
    ]
