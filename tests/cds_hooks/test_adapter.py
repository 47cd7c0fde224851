"""The CDS Hooks HTTP adapter (plugin/cds_hooks/adapter.py) answers all of /cds-services in one
sequence: gate -> dispatch -> CORS -> audit. These are its edges."""

from __future__ import annotations

import json

import pytest

from plugin.cds_hooks import adapter, pipeline
from tests.cds_hooks.stubs import ORDER_SIGN, service_request
from tests.cds_hooks.stubs import order_sign as _order_sign


def order_sign() -> dict:
    return _order_sign([service_request("sr-1", "33952")], payer="Aetna")


def _audit_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"ts"')]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/cds-services", ()),
        ("/cds-services/", ()),
        ("/cds-services/svc", ("svc",)),
        ("/cds-services/svc/", ("svc",)),
        ("/cds-services/svc/feedback", ("svc", "feedback")),
        ("/cds-services/svc/feedback/", ("svc", "feedback")),
        ("/cds-services/a/b/c", ("a", "b", "c")),
        ("/cds-servicesx", None),
        ("/fhir/ValueSet/$expand", None),
    ],
)
def test_split_path__segments_under_the_prefix(path: str, expected: tuple[str, ...] | None) -> None:
    assert adapter.split_path(path) == expected


def test_split_path__decodes_the_wsgi_path_as_utf8() -> None:
    raw = "/cds-services/é".encode().decode("latin-1")  # how a WSGI server hands it over
    assert adapter.split_path(raw) == ("é",)


def test_trailing_slash__answered_as_the_call(cds_client) -> None:
    reply = cds_client.post(f"/cds-services/{ORDER_SIGN}/", json=order_sign())
    assert reply.status_code == 200
    assert "cards" in reply.get_json()


def test_charset_parameter__still_json(cds_client) -> None:
    reply = cds_client.post(
        f"/cds-services/{ORDER_SIGN}",
        data=json.dumps(order_sign()),
        content_type="application/json; charset=utf-8",
    )
    assert reply.status_code == 200


def test_unknown_service__404_names_the_id(cds_client) -> None:
    reply = cds_client.post("/cds-services/é", json=order_sign())
    assert reply.status_code == 404
    assert reply.get_json()["error"] == "unknown-service"
    assert "'é'" in reply.get_json()["message"]


def test_a_failing_stage__500_json_and_an_audit_line(cds_client, monkeypatch, capsys) -> None:
    def broken(*_args: object, **_kwargs: object) -> dict:
        raise RuntimeError("a stage failed")

    monkeypatch.setattr(adapter, "run", broken)
    capsys.readouterr()
    reply = cds_client.post(f"/cds-services/{ORDER_SIGN}", json=order_sign())
    assert reply.status_code == 500
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.get_json()["error"] == "internal-error"
    assert "a stage failed" not in reply.get_data(as_text=True)
    (line,) = _audit_lines(capsys.readouterr().err)
    assert (line["service"], line["status"]) == (ORDER_SIGN, 500)


def test_cors__allowed_origin_on_a_service_call_and_its_errors(cds_client) -> None:
    for body in (order_sign(), {"hook": "order-sign"}):
        reply = cds_client.post(
            f"/cds-services/{ORDER_SIGN}", json=body, headers={"Origin": "https://sandbox.cds-hooks.org"}
        )
        assert reply.headers["Access-Control-Allow-Origin"] == "*"
        assert "WWW-Authenticate" in reply.headers["Access-Control-Expose-Headers"]


def test_answer_headers__length_and_type(cds_client) -> None:
    reply = cds_client.post(f"/cds-services/{ORDER_SIGN}", json=order_sign())
    assert reply.headers["Content-Type"] == "application/json"
    assert int(reply.headers["Content-Length"]) == len(reply.get_data())
    assert reply.headers["Vary"] == "Origin"


def test_pipeline__returns_the_answer_and_its_audit_facts(cds_app) -> None:
    cds = cds_app.extensions["cds_hooks"]
    service = cds.catalog.get(ORDER_SIGN)
    with cds_app.app_context():
        result = pipeline.run(cds_app, cds, service, order_sign(), "http://127.0.0.1")
    assert result.response["cards"]
    facts = result.audit
    assert (facts["service"], facts["hook"]) == (ORDER_SIGN, "order-sign")
    assert facts["hookInstance"] == order_sign()["hookInstance"]
    assert facts["cards"] == len(result.response["cards"])
    assert facts["rules"] and facts["rules"] == sorted(set(facts["rules"]))
    assert [i["uuid"] for i in facts["issued"]] == [c["uuid"] for c in result.response["cards"]]


def test_feedback__audited_with_its_item_count(cds_client, capsys) -> None:
    items = [{"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2026-11-25T15:05:31Z"}] * 2
    capsys.readouterr()
    reply = cds_client.post(f"/cds-services/{ORDER_SIGN}/feedback", json={"feedback": items})
    assert reply.status_code == 200 and reply.get_json() == {}
    (line,) = _audit_lines(capsys.readouterr().err)
    assert (line["event"], line["service"], line["status"]) == ("cds-feedback", ORDER_SIGN, 200)
    assert line["feedbackItems"] == 2


def test_discovery__head_and_options(cds_client) -> None:
    got = cds_client.get("/cds-services")
    head = cds_client.head("/cds-services")
    assert head.status_code == 200 and head.get_data() == b""
    assert int(head.headers["Content-Length"]) == len(got.get_data())
    options = cds_client.options("/cds-services")
    assert options.status_code == 204
    assert {m.strip() for m in options.headers["Allow"].split(",")} >= {"GET", "HEAD"}


def test_preflight__answered_without_the_gate_and_not_audited(cds_client, capsys) -> None:
    capsys.readouterr()
    reply = cds_client.options(
        f"/cds-services/{ORDER_SIGN}",
        headers={"Origin": "https://sandbox.cds-hooks.org", "Access-Control-Request-Method": "POST"},
    )
    assert reply.status_code == 204
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in reply.headers["Access-Control-Allow-Methods"]
    assert reply.headers.getlist("Access-Control-Allow-Origin") == ["*"]  # not added twice
    assert _audit_lines(capsys.readouterr().err) == []


@pytest.mark.parametrize("suffix", ["", "/feedback"])
def test_other_methods__405_allow_post_after_the_service_is_known(cds_client, suffix: str) -> None:
    reply = cds_client.put(f"/cds-services/{ORDER_SIGN}{suffix}", json={})
    assert reply.status_code == 405
    assert reply.headers["Allow"].split(",")[0] == "POST"
    assert reply.get_json()["error"] == "method-not-allowed"
    assert cds_client.put(f"/cds-services/no-such{suffix}", json={}).status_code == 404


def test_routes__every_service_call_and_feedback(cds_app) -> None:
    cds = cds_app.extensions["cds_hooks"]
    listed = {(r.path, r.methods) for r in adapter.routes(cds)}
    assert ("/cds-services", ("GET",)) in listed
    for service in cds.catalog.services:
        assert (f"/cds-services/{service.id}", ("POST",)) in listed
        assert (f"/cds-services/{service.id}/feedback", ("POST",)) in listed
