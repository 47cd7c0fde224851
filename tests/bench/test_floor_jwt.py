"""The JWT floor verifies the token as strictly as a Flask service would (signature, iss, aud, exp,
jti present) before it answers like the plain floor, and the report pairs order-sign-jwt with it."""

from __future__ import annotations

import time

import jwt
import orjson

from tools.bench import report
from tools.bench.floor import FLOOR_JWT_PATH, create_floor_app
from tools.bench.jwt import ISSUER, BenchIssuer
from tools.bench.payloads import order_sign_request

AUDIENCE = f"http://localhost{FLOOR_JWT_PATH}"
BODY = orjson.dumps(order_sign_request(1))


def _post(client, token: str | None):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(FLOOR_JWT_PATH, data=BODY, headers=headers)


def test_floor_jwt__fresh_token_accepted__bad_ones_refused() -> None:
    issuer, stranger = BenchIssuer(), BenchIssuer()
    client = create_floor_app(issuer.jwks(), ISSUER).test_client()
    good = _post(client, issuer.tokens(AUDIENCE, 1)[0])
    assert (
        good.status_code == 200
        and good.get_json()
        == create_floor_app()
        .test_client()
        .post("/floor", data=BODY, headers={"Content-Type": "application/json"})
        .get_json()
    )
    assert _post(client, None).status_code == 401
    assert _post(client, issuer.tokens("http://localhost/elsewhere", 1)[0]).status_code == 401
    assert _post(client, stranger.tokens(AUDIENCE, 1)[0]).status_code == 401  # unknown kid
    now = int(time.time())
    expired = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "iat": now - 900, "exp": now - 600, "jti": "x"},
        issuer.key,
        algorithm="ES384",
        headers={"kid": issuer.kid},
    )
    assert _post(client, expired).status_code == 401
    no_jti = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 60},
        issuer.key,
        algorithm="ES384",
        headers={"kid": issuer.kid},
    )
    assert _post(client, no_jti).status_code == 401


def test_targets__order_sign_jwt_judged_against_the_jwt_floor_and_scale_out_ratio() -> None:
    row = {"name": "order-sign-jwt", "status": "measured", "ratio_to_floor": 0.8, "paired_with": "floor-jwt"}
    results = {
        "endpoints": [row],
        "startup": {},
        "memory": {},
        "scale_out": {"rows": [], "ratio": 0.7},
    }
    targets = {t["name"]: t for t in report.evaluate_targets(results)}
    assert targets["order-sign with JWT throughput / JWT floor"]["met"] is True
    spread = targets["nginx + 2 instances + PostgreSQL / one instance, same workers (throughput)"]
    assert spread["value"] == 0.7 and spread["met"] is False


def test_jwt_rows__without_wrk__unavailable_rows_that_fit_the_results_schema(tmp_path) -> None:
    from jsonschema import Draft202012Validator

    from tools.bench.runner import Settings, jwt_rows

    settings = Settings(load_generator="python", work_dir=tmp_path)
    # Without wrk no server is asked anything: the floor server is not needed.
    rows = jwt_rows(settings, tmp_path, None, BenchIssuer(), {"rps": 100.0})
    assert [(row["name"], row["status"]) for row in rows] == [
        ("floor-jwt", "unavailable"),
        ("order-sign-jwt", "unavailable"),
    ]
    assert rows[1]["path"].startswith("/cds-services/") and rows[1]["request_bytes"] > 0
    rows_schema = report.RESULT_SCHEMA["properties"]["endpoints"]
    assert [e.message for e in Draft202012Validator(rows_schema).iter_errors(rows)] == []
