"""One call's cost is bounded: a call about the ECMO/ECLS family with more draft orders than
`limits.max_draft_orders`, or more family orders than `limits.max_family_orders`, is answered 400
with the count and the limit (every pair of orders is checked against the NCCI edits, so the answer
grows with the square of the orders). Calls that do not concern the family are not limited here."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from plugin.app import create_app
from plugin.config import ConfigError
from tests.cds_hooks.conftest import cds_settings
from tests.cds_hooks.stubs import ORDER_SIGN, order_sign, service_request

OTHERS = ["99213", "36556", "93312", "71045", "36620", "99291", "31500", "36140"]


def _orders(family: list[str], others: int) -> list[dict]:
    codes = family + [OTHERS[i % len(OTHERS)] for i in range(others)]
    return [service_request(f"o{i}", code) for i, code in enumerate(codes)]


def _post(app: Flask, orders: list[dict]) -> tuple[int, dict]:
    reply = app.test_client().post(f"/cds-services/{ORDER_SIGN}", json=order_sign(orders))
    return reply.status_code, reply.get_json()


def test_eleven_family_orders__400_naming_the_count_and_the_limit(cds_app: Flask) -> None:
    status, body = _post(cds_app, _orders(["33952", "33953"] * 5 + ["33954"], 0))
    assert status == 400
    assert body["error"] == "invalid-request" and body["field"] == "context.draftOrders"
    assert "11 ECMO/ECLS cannulation orders" in body["message"]
    assert "at most 10" in body["message"] and "limits.max_family_orders" in body["message"]


def test_ten_family_orders__answered(cds_app: Flask) -> None:
    status, body = _post(cds_app, _orders(["33952", "33953"] * 5, 0))
    assert status == 200 and body["cards"]


def test_201_orders_with_one_family_order__400_naming_the_count_and_the_limit(cds_app: Flask) -> None:
    status, body = _post(cds_app, _orders(["33952"], 200))
    assert status == 400 and body["field"] == "context.draftOrders"
    assert "holds 201 orders" in body["message"] and "limits.max_draft_orders" in body["message"]


def test_200_orders_with_one_family_order__answered(cds_app: Flask) -> None:
    status, body = _post(cds_app, _orders(["33952"], 199))
    assert status == 200 and body["cards"]


def test_many_orders_outside_the_family__not_this_service_s_business(cds_app: Flask) -> None:
    status, body = _post(cds_app, _orders([], 300))
    assert (status, body) == (200, {"cards": []})


def test_limits__set_in_the_configuration(tmp_path: Path) -> None:
    app = create_app(cds_settings(tmp_path, limits={"max_family_orders": 2, "max_draft_orders": 5}))
    assert _post(app, _orders(["33952", "33953"], 3))[0] == 200
    status, body = _post(app, _orders(["33952", "33953", "33954"], 0))
    assert status == 400 and "at most 2" in body["message"]
    status, body = _post(app, _orders(["33952"], 5))
    assert status == 400 and "at most 5" in body["message"]


@pytest.mark.parametrize("value", [0, -1, 2.5, "10"])
def test_limits__not_a_positive_whole_number__refused_at_start_up(tmp_path: Path, value: object) -> None:
    with pytest.raises(ConfigError, match="limits.max_family_orders"):
        create_app(cds_settings(tmp_path, limits={"max_family_orders": value}))
