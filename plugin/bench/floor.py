"""The benchmark's floor: a bare Flask endpoint that parses a ~5 KB JSON body and returns a ~1 KB card.

It is what any JSON-over-HTTP Flask service costs on this machine under the same gunicorn settings,
so our endpoints are reported as a ratio to it. It is not part of the product's routes.

    python -m plugin.bench.floor --port 18400 --workers 2
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from flask import Flask, abort, jsonify, request

from plugin.bench.payloads import floor_card

FLOOR_PATH = "/floor"


def create_floor_app() -> Flask:
    app = Flask("cpt_plugin_bench_floor")
    card = floor_card()

    @app.post(FLOOR_PATH)
    def floor() -> Any:
        body = request.get_json()
        if not isinstance(body, dict) or "hook" not in body:
            abort(400)
        return jsonify(card)

    @app.get("/")
    def ready() -> Any:
        return jsonify({"floor": True})

    return app


def main(argv: Sequence[str] | None = None) -> int:
    from plugin.serving import run_gunicorn

    parser = argparse.ArgumentParser(prog="python -m plugin.bench.floor")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    return run_gunicorn(
        create_floor_app, args.host, args.port, args.workers, {"proc_name": "cpt-plugin-floor"}
    )


if __name__ == "__main__":
    sys.exit(main())
