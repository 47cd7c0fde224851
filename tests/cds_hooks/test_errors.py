"""Bad input gets a clear 4xx with {"error", "message"} (and the field to blame), never a 500."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cds_hooks.stubs import ORDER_SELECT, ORDER_SIGN, order_select, order_sign, service_request


def valid_sign() -> dict[str, Any]:
    return order_sign([service_request("sr-1", "33952"), service_request("sr-2", "77001")], payer="Aetna")


def test_unknown_service__404(cds_client) -> None:
    reply = cds_client.post("/cds-services/no-such-service", json=valid_sign())
    assert reply.status_code == 404
    assert reply.get_json()["error"] == "unknown-service"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_not_json__415(cds_client, content_type) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    reply = cds_client.post(f"/cds-services/{ORDER_SIGN}", data=b'{"hook": "order-sign"}', headers=headers)
    assert reply.status_code == 415
    assert reply.get_json()["error"] == "unsupported-media-type"


def test_fhir_json_media_type__accepted(cds_client) -> None:
    import json

    reply = cds_client.post(
        f"/cds-services/{ORDER_SIGN}",
        data=json.dumps(valid_sign()),
        headers={"Content-Type": "application/fhir+json; charset=utf-8"},
    )
    assert reply.status_code == 200


@pytest.mark.parametrize("payload", [b"{", b"", b"\xff\xfe", b"[1,2", b"nul"])
def test_malformed_json__400(cds_client, payload) -> None:
    reply = cds_client.post(
        f"/cds-services/{ORDER_SIGN}", data=payload, headers={"Content-Type": "application/json"}
    )
    assert reply.status_code == 400
    assert reply.get_json()["error"] == "invalid-json"


def without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    body = copy.deepcopy(body)
    target = body
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return body


def with_value(body: dict[str, Any], value: Any, *path: str | int) -> dict[str, Any]:
    body = copy.deepcopy(body)
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: without(b, "hook"), "hook"),
        (lambda b: without(b, "hookInstance"), "hookInstance"),
        (lambda b: without(b, "context"), "context"),
        (lambda b: without(b, "context", "patientId"), "context.patientId"),
        (lambda b: without(b, "context", "draftOrders"), "context.draftOrders"),
        (lambda b: with_value(b, "order-select", "hook"), "hook"),
        (lambda b: with_value(b, "../../etc/passwd", "context", "patientId"), "context.patientId"),
        (lambda b: with_value(b, "dr-1", "context", "userId"), "context.userId"),
        (
            lambda b: with_value(b, {"resourceType": "Patient"}, "context", "draftOrders"),
            "context.draftOrders.resourceType",
        ),
        (lambda b: with_value(b, "not-a-resource", "prefetch", "patient"), "prefetch.patient"),
        (
            lambda b: with_value(
                b,
                {"access_token": "t", "token_type": "Bearer", "expires_in": 30, "scope": "s", "subject": "x"},
                "fhirAuthorization",
            ),
            "fhirServer",
        ),
        (lambda b: with_value(b, "ftp://ehr/fhir", "fhirServer"), "fhirServer"),
        (lambda b: with_value(b, [], "context"), "context"),
    ],
)
def test_schema_violation__400_names_the_field(cds_client, mutate, field) -> None:
    reply = cds_client.post(f"/cds-services/{ORDER_SIGN}", json=mutate(valid_sign()))
    assert reply.status_code == 400, reply.get_json()
    body = reply.get_json()
    assert body["error"] == "invalid-request"
    assert body["field"] == field, body
    assert field.split(".")[-1].split("[")[0] in body["message"]


def test_order_select_selection_not_in_draft_orders__400(cds_client) -> None:
    body = order_select([service_request("sr-1", "33952")], ["ServiceRequest/missing"])
    reply = cds_client.post(f"/cds-services/{ORDER_SELECT}", json=body)
    assert reply.status_code == 400
    assert reply.get_json()["field"] == "context.selections[0]"


def test_order_select_without_selections__400(cds_client) -> None:
    body = without(
        order_select([service_request("sr-1", "33952")], ["ServiceRequest/sr-1"]), "context", "selections"
    )
    assert (
        cds_client.post(f"/cds-services/{ORDER_SELECT}", json=body).get_json()["field"]
        == "context.selections"
    )


def test_unknown_extra_fields__ignored(call) -> None:
    body = valid_sign()
    body["somethingNew"] = {"x": 1}
    body["context"]["futureField"] = [1, 2]
    body["extension"] = {"com.example.flag": True}
    assert call(ORDER_SIGN, body)["cards"]


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_wrong_method__405_json(cds_client, method) -> None:
    reply = getattr(cds_client, method)(f"/cds-services/{ORDER_SIGN}")
    assert reply.status_code == 405
    assert reply.headers["Allow"] == "POST"
    assert reply.get_json()["error"] == "method-not-allowed"


def test_order_outside_the_family__empty_cards(call) -> None:
    body = order_sign([service_request("sr-1", "71046"), service_request("sr-2", "77001")])
    assert call(ORDER_SIGN, body) == {"cards": []}


def test_draft_orders_without_cpt_codes__empty_cards(call) -> None:
    order = service_request("sr-1", "33952")
    order["code"]["coding"][0]["system"] = "http://snomed.info/sct"
    assert call(ORDER_SIGN, order_sign([order])) == {"cards": []}


JSON_LEAVES = (
    st.none() | st.booleans() | st.integers(-10, 10) | st.text(max_size=12) | st.floats(allow_nan=False)
)
JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
PATHS = [
    ("context", "draftOrders", "entry", 0, "resource", "code"),
    ("context", "draftOrders", "entry", 0, "resource", "occurrenceDateTime"),
    ("context", "draftOrders", "entry", 0, "resource", "quantityQuantity"),
    ("context", "draftOrders", "entry", 0, "resource", "locationCode"),
    ("context", "draftOrders", "entry", 0, "resource", "contained"),
    ("context", "draftOrders", "entry", 0, "resource", "id"),
    ("context", "draftOrders", "entry", 0),
    ("context", "draftOrders", "entry"),
    ("prefetch", "patient", "birthDate"),
    ("prefetch", "coverage", "entry"),
    ("prefetch", "coverage", "entry", 0, "resource", "payor"),
    ("prefetch", "encounter"),
    ("prefetch", "encounter", "class"),
    ("prefetch", "conditions", "entry"),
    ("prefetch", "consents"),
    ("context", "encounterId"),
    ("fhirServer",),
    ("hookInstance",),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), value=JSON)
def test_fuzz__any_value_anywhere_never_gives_a_500(cds_client, path, value) -> None:
    body = valid_sign()
    body["prefetch"]["encounter"] = {"resourceType": "Encounter", "id": "enc-1", "class": {"code": "IMP"}}
    body = with_value(body, value, *path)
    reply = cds_client.post(f"/cds-services/{ORDER_SIGN}", json=body)
    assert reply.status_code in (200, 400, 412), (path, value, reply.get_data(as_text=True))
    assert set(reply.get_json()) >= ({"cards"} if reply.status_code == 200 else {"error", "message"})


def _audit_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"ts"')]


def test_audit__service_hook_instance_and_fired_rules_in_the_line(cds_client, capsys) -> None:
    body = valid_sign()
    capsys.readouterr()
    response = cds_client.post(f"/cds-services/{ORDER_SIGN}", json=body)
    assert response.status_code == 200
    (line,) = _audit_lines(capsys.readouterr().err)
    assert {k: line[k] for k in ("event", "service", "hook", "hookInstance", "status", "cards", "rules")} == {
        "event": "cds-hook-call",
        "service": ORDER_SIGN,
        "hook": "order-sign",
        "hookInstance": body["hookInstance"],
        "status": 200,
        "cards": 3,
        "rules": [
            "cannulation-note-elements",
            "coverage-information",
            "ncci-ptp-modifier-bypass",
            "payer-policy-not-verified",
        ],
    }
    # A body that is not JSON: the line still names the service, with nothing the request did not say.
    response = cds_client.post(f"/cds-services/{ORDER_SIGN}", data=b"{", content_type="application/json")
    assert response.status_code == 400
    (line,) = _audit_lines(capsys.readouterr().err)
    assert (line["service"], line["hook"], line["hookInstance"], line["status"], line["rules"]) == (
        ORDER_SIGN,
        None,
        None,
        400,
        [],
    )
    assert "cards" not in line


def test_issued_cards__recorded_with_topic_and_rule(call, cds_app) -> None:
    from plugin.storage import get_store
    from plugin.storage.store import issued_cards

    response = call(ORDER_SIGN, valid_sign())
    get_store(cds_app).flush()  # written behind: a few ms after the answer
    with get_store(cds_app).engine.connect() as conn:
        rows = {
            (r.card_uuid, r.topic, r.rule_id, r.hook_instance) for r in conn.execute(issued_cards.select())
        }
    expected = {
        (
            c["uuid"],
            c["source"]["topic"]["code"],
            c["extension"]["org.cpt-plugin.rule"]["id"],
            valid_sign()["hookInstance"],
        )
        for c in response["cards"]
    }
    assert rows == expected and len(rows) == 3
