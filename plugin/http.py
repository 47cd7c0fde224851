"""Small HTTP helpers shared by every area: fast JSON in and out, FHIR media types."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response

FHIR_JSON = "application/fhir+json"


def json_response(body: Any, status: int = 200, content_type: str = "application/json") -> Response:
    return Response(orjson.dumps(body), status=status, content_type=content_type)


def fhir_response(resource: dict[str, Any], status: int = 200) -> Response:
    return json_response(resource, status=status, content_type=f"{FHIR_JSON}; charset=utf-8")
