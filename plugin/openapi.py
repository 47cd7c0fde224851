"""The OpenAPI document of the whole HTTP surface, served at /openapi.json.

The document is data (plugin/openapi.json), kept beside the code it describes; a test checks that
every Flask route of the app appears in it, so the two cannot drift apart.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response

from plugin.http import json_response
from plugin.version import __version__

SPEC_FILE = Path(__file__).with_name("openapi.json")

bp = Blueprint("openapi", __name__)


@cache
def openapi_document() -> dict[str, Any]:
    document = json.loads(SPEC_FILE.read_text(encoding="utf-8"))
    document["info"]["version"] = __version__
    return document


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return json_response(openapi_document())


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
