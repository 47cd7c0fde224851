"""Prefetch: used as given, `null` as known absent, absent keys read from a real FHIR server on loopback.

The stand-in FHIR server is a small Flask app served over HTTP by the `serve` fixture; it records
each request (path, query, Authorization header) so the tests can see what the service fetched.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest
from flask import Flask, jsonify, redirect, request

from tests.cds_hooks import stubs
from tests.cds_hooks.stubs import ORDER_SIGN, cards_of, order_sign, service_request

TOKEN = "opaque-access-token-123"


class FhirStandIn:
    """Answers Patient/Coverage/Encounter/Condition/Consent like an EHR's FHIR server would."""

    def __init__(self, birth_date: str = "2020-11-21") -> None:
        self.requests: list[dict[str, Any]] = []
        self.resources: dict[str, Any] = {
            "Patient": stubs.patient(birth_date),
            "Coverage": stubs.searchset(stubs.coverage("Medicare")),
            "Encounter": stubs.encounter("IMP"),
            "Condition": stubs.searchset(),
            "Consent": stubs.searchset(),
        }
        self.status: dict[str, int] = {}
        self.delay: dict[str, float] = {}
        self.app = Flask("fhir-stand-in")
        self.app.add_url_rule("/fhir/<rtype>/<rid>", view_func=self.read)
        self.app.add_url_rule("/fhir/<rtype>", view_func=self.search)
        self.app.add_url_rule("/fhir/page2", view_func=self.page2)
        self.app.add_url_rule("/fhir/moved/<rtype>/<rid>", view_func=self.moved)

    def _record(self, rtype: str) -> Any:
        self.requests.append(
            {
                "type": rtype,
                "path": request.path,
                "args": dict(request.args),
                "authorization": request.headers.get("Authorization"),
            }
        )
        time.sleep(self.delay.get(rtype, 0))
        if rtype in self.status:
            status = self.status[rtype]
            if status == 302:
                return redirect("/fhir/moved/Patient/pat-1")
            return jsonify(
                {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}
            ), status
        return None

    def read(self, rtype: str, rid: str) -> Any:
        override = self._record(rtype)
        if override is not None:
            return override
        resource = self.resources.get(rtype)
        if resource is None or resource.get("id") != rid:
            return jsonify(
                {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}
            ), 404
        return jsonify(resource)

    def search(self, rtype: str) -> Any:
        override = self._record(rtype)
        return override if override is not None else jsonify(self.resources.get(rtype, stubs.searchset()))

    def page2(self) -> Any:
        self._record("page2")
        condition = {
            "resourceType": "Condition",
            "id": "condition-2",
            "code": {
                "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J80", "display": "ARDS"}]
            },
        }
        return jsonify(stubs.searchset(condition))

    def moved(self, rtype: str, rid: str) -> Any:
        self._record("moved")
        return jsonify(stubs.searchset(stubs.coverage("Aetna")))

    def of(self, rtype: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["type"] == rtype]


@pytest.fixture
def fhir(serve):
    stand_in = FhirStandIn()
    server = serve(stand_in.app)
    stand_in.base = f"{server.url}/fhir"
    return stand_in


def post(cds_client, body):
    return cds_client.post(f"/cds-services/{ORDER_SIGN}", json=body)


def test_prefetch_present__used_as_given_nothing_fetched(call, fhir) -> None:
    body = order_sign(
        [service_request("sr-1", "33952")], birth_date="2020-11-21", fhir_server=fhir.base, token=TOKEN
    )
    response = call(ORDER_SIGN, body)
    assert len(cards_of(response, topic="age-criteria")) == 1
    assert fhir.requests == []


def test_prefetch_absent__fetched_from_loopback_fhir_server_with_the_bearer_token(call, fhir) -> None:
    body = order_sign(
        [service_request("sr-1", "33952")], prefetch_data={}, fhir_server=fhir.base, token=TOKEN
    )
    assert "prefetch" not in body
    response = call(ORDER_SIGN, body)
    # the same advice as with a full prefetch: age 5 on 2026-11-20, Medicare on file
    assert len(cards_of(response, topic="age-criteria")) == 1
    assert len(cards_of(response, topic="payer-policy")) == 1
    assert sorted(r["type"] for r in fhir.requests) == [
        "Condition",
        "Consent",
        "Coverage",
        "Encounter",
        "Patient",
    ]
    assert {r["authorization"] for r in fhir.requests} == {f"Bearer {TOKEN}"}
    assert fhir.of("Patient")[0]["path"] == "/fhir/Patient/pat-1"
    assert fhir.of("Coverage")[0]["args"] == {"patient": "pat-1", "status": "active"}
    assert fhir.of("Condition")[0]["args"] == {"patient": "pat-1", "clinical-status": "active"}
    assert fhir.of("Encounter")[0]["path"] == "/fhir/Encounter/enc-1"


def test_prefetch_absent_with_full_prefetch_equivalent__same_cards(call, fhir) -> None:
    fetched = call(
        ORDER_SIGN, order_sign([service_request("sr-1", "33952")], prefetch_data={}, fhir_server=fhir.base)
    )
    given = call(
        ORDER_SIGN,
        order_sign(
            [service_request("sr-1", "33952")],
            birth_date="2020-11-21",
            payer="Medicare",
            encounter_resource=stubs.encounter("IMP"),
        ),
    )

    def shape(response):
        return sorted((c["extension"]["org.cpt-plugin.rule"]["id"], c["summary"]) for c in response["cards"])

    assert shape(fetched) == shape(given)


def test_prefetch_null__known_absent_and_not_fetched(call, fhir) -> None:
    pre = stubs.prefetch(birth_date="2020-11-21")
    pre["encounter"] = None
    del pre["coverage"]
    body = order_sign([service_request("sr-1", "33952")], prefetch_data=pre, fhir_server=fhir.base)
    call(ORDER_SIGN, body)
    assert [r["type"] for r in fhir.requests] == ["Coverage"]


def test_no_encounter_id__encounter_template_not_rendered_and_not_fetched(call, fhir) -> None:
    body = order_sign(
        [service_request("sr-1", "33952")], prefetch_data={}, encounter_id=None, fhir_server=fhir.base
    )
    call(ORDER_SIGN, body)
    assert fhir.of("Encounter") == []


def test_patient_absent_and_no_fhir_server__412_with_explanation(cds_client) -> None:
    body = order_sign([service_request("sr-1", "33952")], prefetch_data={})
    reply = post(cds_client, body)
    assert reply.status_code == 412
    error = reply.get_json()
    assert error["error"] == "precondition-failed"
    assert "patient" in error["message"] and "no fhirServer" in error["message"]
    assert error["outcome"]["resourceType"] == "OperationOutcome"
    assert error["outcome"]["issue"][0]["severity"] == "error"


def test_patient_prefetch_null__412(cds_client) -> None:
    pre = stubs.prefetch()
    pre["patient"] = None
    reply = post(cds_client, order_sign([service_request("sr-1", "33952")], prefetch_data=pre))
    assert reply.status_code == 412


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_fhir_server_refusing_connections__412_for_the_patient(cds_client) -> None:
    base = f"http://127.0.0.1:{unused_port()}/fhir"
    reply = post(
        cds_client, order_sign([service_request("sr-1", "33952")], prefetch_data={}, fhir_server=base)
    )
    assert reply.status_code == 412
    assert "could not be reached" in reply.get_json()["message"]


def test_fhir_server_timing_out__412_for_the_patient(cds_client, fhir, short_fetch_timeout) -> None:
    fhir.delay["Patient"] = 2.5  # the fetch timeout is 1 s
    started = time.monotonic()
    reply = post(
        cds_client, order_sign([service_request("sr-1", "33952")], prefetch_data={}, fhir_server=fhir.base)
    )
    assert reply.status_code == 412
    assert "did not answer within 1 s" in reply.get_json()["message"]
    assert time.monotonic() - started < 2.4


def test_patient_not_found_on_fhir_server__412(cds_client, fhir) -> None:
    fhir.resources["Patient"] = stubs.patient(patient_id="someone-else")
    reply = post(
        cds_client, order_sign([service_request("sr-1", "33952")], prefetch_data={}, fhir_server=fhir.base)
    )
    assert reply.status_code == 412
    assert "not found" in reply.get_json()["message"]


@pytest.mark.parametrize(("status", "reason"), [(500, "HTTP 500"), (302, "HTTP 302")])
def test_other_key_fails__data_quality_card_and_the_rest_of_the_advice(call, fhir, status, reason) -> None:
    fhir.status["Coverage"] = status
    pre = stubs.prefetch(birth_date="2020-11-21")
    del pre["coverage"]
    response = call(
        ORDER_SIGN, order_sign([service_request("sr-1", "33952")], prefetch_data=pre, fhir_server=fhir.base)
    )
    [card] = cards_of(response, rule="prefetch-unavailable")
    assert (
        card["summary"]
        == "Could not read coverage from the EHR; payer notes and coverage information may be incomplete"
    )
    assert reason in card["detail"]
    assert len(cards_of(response, topic="age-criteria")) == 1
    assert [r["type"] for r in fhir.requests] == ["Coverage"]  # the redirect was not followed


def test_other_key_times_out__data_quality_card(call, fhir, short_fetch_timeout) -> None:
    fhir.delay["Condition"] = 2.5
    pre = stubs.prefetch(birth_date="2020-11-21")
    del pre["conditions"]
    response = call(
        ORDER_SIGN, order_sign([service_request("sr-1", "33952")], prefetch_data=pre, fhir_server=fhir.base)
    )
    [card] = cards_of(response, rule="prefetch-unavailable")
    assert "conditions" in card["summary"] and "did not answer" in card["detail"]


def test_other_key_absent_and_no_fhir_server__data_quality_card(call) -> None:
    pre = stubs.prefetch(birth_date="2020-11-21")
    del pre["conditions"]
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", "33952")], prefetch_data=pre))
    [card] = cards_of(response, rule="prefetch-unavailable")
    assert "conditions" in card["summary"] and "the indication hints" in card["summary"]


def test_fhir_server_not_allowed_by_fetch_policy__nothing_fetched_and_412(cds_client) -> None:
    base = "https://ehr.example.org/fhir"  # development mode fetches from loopback only
    reply = post(
        cds_client, order_sign([service_request("sr-1", "33952")], prefetch_data={}, fhir_server=base)
    )
    assert reply.status_code == 412
    assert "may not fetch from that fhirServer" in reply.get_json()["message"]


def test_searchset_bundle_with_operation_outcome_entry__used_and_reported(call) -> None:
    pre = stubs.prefetch(birth_date="1986-03-14")
    pre["coverage"] = stubs.searchset(stubs.coverage("Aetna"))
    pre["coverage"]["entry"].append(
        {
            "resource": {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "too-costly", "diagnostics": "results truncated"}],
            },
            "search": {"mode": "outcome"},
        }
    )
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", "33952")], prefetch_data=pre))
    assert len(cards_of(response, rule="payer-policy-not-verified")) == 1
    [card] = cards_of(response, rule="prefetch-unavailable")
    assert "results truncated" in card["detail"]


def test_prefetch_key_given_as_operation_outcome__fetched_instead(call, fhir) -> None:
    pre = stubs.prefetch(birth_date="2020-11-21")
    pre["coverage"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    response = call(
        ORDER_SIGN, order_sign([service_request("sr-1", "33952")], prefetch_data=pre, fhir_server=fhir.base)
    )
    assert [r["type"] for r in fhir.requests] == ["Coverage"]
    assert len(cards_of(response, rule="payer-medicare")) == 1


def test_paginated_search__next_pages_on_the_same_server_are_followed(call, fhir) -> None:
    first = stubs.searchset()
    first["link"] = [{"relation": "next", "url": f"{fhir.base}/page2"}]
    fhir.resources["Condition"] = first
    pre = stubs.prefetch(birth_date="1986-03-14")
    del pre["conditions"]
    response = call(
        ORDER_SIGN, order_sign([service_request("sr-1", "33952")], prefetch_data=pre, fhir_server=fhir.base)
    )
    assert [r["type"] for r in fhir.requests] == ["Condition", "page2"]
    [card] = cards_of(response, topic="documentation")
    assert "Active conditions on file that may be the indication: J80 ARDS." in card["detail"]


def test_patient_as_one_entry_searchset__accepted(call) -> None:
    pre = stubs.prefetch()
    pre["patient"] = stubs.searchset(stubs.patient("2020-11-21"))
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", "33952")], prefetch_data=pre))
    assert len(cards_of(response, topic="age-criteria")) == 1


def test_prefetched_patient_is_someone_else__400(cds_client) -> None:
    pre = stubs.prefetch()
    pre["patient"] = stubs.patient(patient_id="other")
    reply = post(cds_client, order_sign([service_request("sr-1", "33952")], prefetch_data=pre))
    assert reply.status_code == 400
    assert reply.get_json()["field"] == "prefetch.patient.id"


def test_order_outside_the_family__empty_cards_without_needing_the_patient(cds_client) -> None:
    body = order_sign([service_request("sr-1", "71046")], prefetch_data={})
    reply = post(cds_client, body)
    assert reply.status_code == 200
    assert reply.get_json() == {"cards": []}
