"""HTTP surface of the CDS Hooks service under /cds-services: discovery, feedback, wrong methods.

Thin: parse JSON, find the service, hand over to feedback.accept_feedback, and render errors as
{"error", "message"}. The service call itself (POST /cds-services/{id}) is answered by
hook_endpoint.py at the WSGI level, with the same steps and error bodies.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, g, request

from plugin.cds_hooks.feedback import accept_feedback
from plugin.cds_hooks.pipeline import CdsError, CdsHooks, parse_body
from plugin.cds_hooks.services import Service
from plugin.http import json_response

log = logging.getLogger(__name__)
EXTENSION_KEY = "cds_hooks"

bp = Blueprint("cds_hooks", __name__, url_prefix="/cds-services")


def get_cds() -> CdsHooks:
    return current_app.extensions[EXTENSION_KEY]


def _error(status: int, code: str, message: str, **extra: Any) -> Response:
    return json_response({"error": code, "message": message, **extra}, status=status)


def _service(service_id: str) -> Service:
    service = get_cds().catalog.get(service_id)
    if service is None:
        raise CdsError(
            404, "unknown-service", f"no CDS service with id {service_id!r}; see GET /cds-services"
        )
    return service


def _json_body() -> Any:
    return parse_body(request.mimetype or "", lambda: request.get_data(cache=False))


@bp.errorhandler(CdsError)
def _cds_error(exc: CdsError) -> Response:
    extra = {"field": exc.field} if exc.field else {}
    return _error(exc.status, exc.code, exc.message, **extra)


@bp.get("")
def discovery() -> Response:
    return json_response(get_cds().catalog.discovery())


@bp.post("/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    g.cds_audit = {"service": service_id, "hookInstance": None, "rules": []}
    service = _service(service_id)
    g.cds_audit["feedbackItems"] = accept_feedback(current_app, get_cds(), service, _json_body())
    return json_response({})


@bp.route("/<service_id>", methods=["GET", "PUT", "PATCH", "DELETE"])
@bp.route("/<service_id>/feedback", methods=["GET", "PUT", "PATCH", "DELETE"])
def wrong_method(service_id: str) -> Response:
    _service(service_id)
    response = _error(405, "method-not-allowed", f"{request.method} is not supported here; use POST")
    response.headers["Allow"] = "POST"
    return response
