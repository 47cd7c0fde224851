"""The service call is answered at the WSGI level (hook_endpoint.py); everything else under
/cds-services still goes through Flask. These are the edges of that split."""

from __future__ import annotations

import json

import pytest

from plugin.cds_hooks import hook_endpoint
from tests.cds_hooks.stubs import ORDER_SIGN, service_request
from tests.cds_hooks.stubs import order_sign as _order_sign


def order_sign() -> dict:
    return _order_sign([service_request("sr-1", "33952")], payer="Aetna")


def _audit_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"ts"')]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/cds-services/svc", "svc"),
        ("POST", "/cds-services/svc/", "svc"),
        ("POST", "/cds-services/%C3%A9", None),  # still percent-encoded: not a WSGI path
        ("POST", "/cds-services/svc/feedback", None),
        ("POST", "/cds-services/", None),
        ("POST", "/cds-services", None),
        ("GET", "/cds-services/svc", None),
        ("POST", "/fhir/ValueSet/$expand", None),
    ],
)
def test_service_call_id__only_posts_to_a_service(method: str, path: str, expected: str | None) -> None:
    found = hook_endpoint.service_call_id({"REQUEST_METHOD": method, "PATH_INFO": path})
    if path.endswith("%A9"):
        assert found == "%C3%A9"
    else:
        assert found == expected


def test_service_call_id__decodes_the_wsgi_path_as_utf8() -> None:
    raw = "/cds-services/é".encode().decode("latin-1")  # how a WSGI server hands it over
    assert hook_endpoint.service_call_id({"REQUEST_METHOD": "POST", "PATH_INFO": raw}) == "é"


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

    monkeypatch.setattr(hook_endpoint, "run", broken)
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
