"""The benchmark's floors: bare Flask endpoints that parse a ~5 KB JSON body and return a ~1 KB card.

They are what any JSON-over-HTTP Flask service costs on this machine under the same gunicorn
settings, so our endpoints are reported as a ratio to them. They are not part of the product's routes.

- POST /floor: the plain floor (the hook without authentication is compared with it).
- POST /floor-jwt (with `--jwks FILE --issuer ISS`): first verifies the request's bearer JWT the way
  any Flask service would with the same library (PyJWT), the same key (parsed once, looked up by
  kid) and the same checks a CDS Hooks client token needs (ES384 signature, iss, aud = the URL
  called, exp/iat, jti present); 401 otherwise. Every request carries a fresh token. It keeps no
  replay record: that is the part of our JWT path the floor does not have to pay for.

    python -m tools.bench.floor --port 18400 --workers 2 [--jwks keys.json --issuer https://ehr]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jwt
from flask import Flask, abort, jsonify, request
from jwt import PyJWK
from jwt.exceptions import InvalidTokenError

from tools.bench.payloads import floor_card

FLOOR_PATH = "/floor"
FLOOR_JWT_PATH = "/floor-jwt"
_REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti"]


def create_floor_app(jwks: dict[str, Any] | None = None, issuer: str | None = None) -> Flask:
    app = Flask("cpt_plugin_bench_floor")
    card = floor_card()
    keys = {k["kid"]: PyJWK(k) for k in (jwks or {}).get("keys", [])}

    def answer() -> Any:
        body = request.get_json()
        if not isinstance(body, dict) or "hook" not in body:
            abort(400)
        return jsonify(card)

    @app.post(FLOOR_PATH)
    def floor() -> Any:
        return answer()

    @app.post(FLOOR_JWT_PATH)
    def floor_jwt() -> Any:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            abort(401)
        try:
            key = keys[jwt.get_unverified_header(token).get("kid")]
            jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm_name],
                audience=request.base_url,
                issuer=issuer,
                options={"require": _REQUIRED_CLAIMS},
            )
        except (InvalidTokenError, KeyError):
            abort(401)
        return answer()

    @app.get("/")
    def ready() -> Any:
        return jsonify({"floor": True})

    return app


def main(argv: Sequence[str] | None = None) -> int:
    from plugin.serving import run_gunicorn

    parser = argparse.ArgumentParser(prog="python -m tools.bench.floor")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--jwks", type=Path, help="JWK Set whose keys /floor-jwt accepts")
    parser.add_argument("--issuer", help="the `iss` /floor-jwt accepts")
    args = parser.parse_args(argv)
    jwks = json.loads(args.jwks.read_text()) if args.jwks else None
    return run_gunicorn(
        lambda: create_floor_app(jwks, args.issuer),
        args.host,
        args.port,
        args.workers,
        {"proc_name": "cpt-plugin-floor"},
    )


if __name__ == "__main__":
    sys.exit(main())
