"""HTTP surface of the CDS Hooks service: discovery, service calls and feedback under /cds-services.

Thin: parse JSON, find the service, hand over to pipeline.run / feedback.accept_feedback, and render
errors as {"error", "message"} (a 412 also carries an OperationOutcome under "outcome").
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, g, request

from plugin.cds_hooks.feedback import accept_feedback
from plugin.cds_hooks.pipeline import CdsError, CdsHooks, precondition_outcome, run
from plugin.cds_hooks.prefetch import PatientUnavailableError
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
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    ):
        raise CdsError(
            415,
            "unsupported-media-type",
            f"send JSON (Content-Type: application/json), not {mimetype or 'no type'!r}",
        )
    try:
        return orjson.loads(request.get_data(cache=False))
    except orjson.JSONDecodeError as exc:
        raise CdsError(400, "invalid-json", f"the body is not valid JSON: {exc}") from exc


_HOST_URLS: dict[tuple[Any, ...], str] = {}


def _base_url() -> str:
    configured = current_app.config["PLUGIN"]["server"].get("public_base_url")
    if configured:
        return configured.rstrip("/")
    # request.host_url rebuilds (and IRI-decodes) the URL on every request; it is a function of these
    # environ values, and a server sees few distinct ones, so each answer is kept (a bounded number).
    environ = request.environ
    key = tuple(environ.get(k) for k in _HOST_KEYS)
    found = _HOST_URLS.get(key)
    if found is None:
        found = request.host_url.rstrip("/")
        if len(_HOST_URLS) < 256:
            _HOST_URLS[key] = found
    return found


_HOST_KEYS = ("wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME")


@bp.errorhandler(CdsError)
def _cds_error(exc: CdsError) -> Response:
    extra = {"field": exc.field} if exc.field else {}
    return _error(exc.status, exc.code, exc.message, **extra)


@bp.get("")
def discovery() -> Response:
    return json_response(get_cds().catalog.discovery())


@bp.post("/<service_id>")
def call(service_id: str) -> Response:
    g.cds_audit = {"service": service_id, "hookInstance": None, "rules": []}
    service = _service(service_id)
    body = _json_body()
    try:
        return json_response(run(current_app, get_cds(), service, body, _base_url()))
    except PatientUnavailableError as exc:
        return _error(412, "precondition-failed", str(exc), outcome=precondition_outcome(str(exc)))


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
