"""GET /cds-services: one service per hook, as written in cds_hooks/services.json, valid and null-free."""

from __future__ import annotations

import json

import requests

from plugin.cds_hooks.schemas import _empties
from plugin.config import PROJECT_ROOT

SERVICES = json.loads((PROJECT_ROOT / "cds_hooks" / "services.json").read_text())
CONTRACT_PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "coverage": "Coverage?patient={{context.patientId}}&status=active",
    "encounter": "Encounter/{{context.encounterId}}",
    "conditions": "Condition?patient={{context.patientId}}&clinical-status=active",
    "consents": "Consent?patient={{context.patientId}}&status=active",
}


def test_discovery__is_a_dump_of_services_json(cds_client) -> None:
    reply = cds_client.get("/cds-services")
    assert reply.status_code == 200
    assert reply.get_json() == SERVICES


def test_discovery__validates_against_schema_and_has_no_nulls_or_empties(cds_app, cds_client) -> None:
    body = cds_client.get("/cds-services").get_json()
    schemas = cds_app.extensions["cds_hooks"].schemas
    assert schemas.errors("discovery.schema.json", body) == []
    assert list(_empties(body, "")) == []


def test_discovery__one_service_per_hook_with_the_contract_ids_and_prefetch(cds_client) -> None:
    services = {s["hook"]: s for s in cds_client.get("/cds-services").get_json()["services"]}
    assert set(services) == {"order-select", "order-sign", "appointment-book"}
    assert services["order-select"]["id"] == "ecmo-cannulation-order-select"
    assert services["order-sign"]["id"] == "ecmo-cannulation-order-sign"
    assert services["appointment-book"]["id"] == "ecmo-cannulation-appointment-book"
    for service in services.values():
        assert service["prefetch"] == CONTRACT_PREFETCH
        assert service["title"] and service["description"]


def test_discovery__served_over_real_http(live_server) -> None:
    reply = requests.get(f"{live_server.url}/cds-services", timeout=5)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json() == SERVICES
