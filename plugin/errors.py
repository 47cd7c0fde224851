"""Errors as JSON wherever a program is the client: unknown paths, wrong methods, unexpected failures.

Each area renders its own errors in its own dialect (OperationOutcome under /fhir and /sandbox/fhir,
{"error", "message"} under /cds-services and /sandbox/api; the CDS adapter answers all of its own).
What no area's view ever sees is handled here, app-wide, by path:

- routing errors (404 for a path no rule matches, 405 for a method no rule allows), which Flask raises
  before any blueprint is chosen, so blueprint handlers never see them; a 405 names the allowed
  methods in `Allow`;
- any other HTTP error raised by werkzeug itself under those areas;
- any exception nobody expected, on any path: a 500 whose body carries an error id, logged with its
  traceback under the same id, so the operator can find the cause a client reports.

Paths outside those areas (the sandbox page and its static files) keep Flask's default pages for 404
and 405, since a browser is their client.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed, NotFound

from plugin.http import fhir_response, json_response
from plugin.operation_outcome import OperationOutcomeError, issue, operation_outcome

log = logging.getLogger("cpt_plugin.errors")

CDS_AREA = "/cds-services"
SANDBOX_API = "/sandbox/api"
FHIR_AREAS = ("/fhir", "/sandbox/fhir")
TERMINOLOGY_AREAS = ("/fhir",)  # /fhir/r5 included: the terminology area answers its own 404 and 405
_CDS_ROUTES = (
    "discovery is GET /cds-services, a service call POST /cds-services/{id}, "
    "feedback POST /cds-services/{id}/feedback"
)


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def area_of(path: str) -> str | None:
    """'fhir', 'cds' or 'sandbox-api' for a path whose errors are JSON of that dialect, else None."""
    if any(_under(path, p) for p in FHIR_AREAS):
        return "fhir"
    if _under(path, CDS_AREA):
        return "cds"
    if _under(path, SANDBOX_API):
        return "sandbox-api"
    return None


# --------------------------------------------------------------------------------------------------
# Unexpected failures


def new_error_id() -> str:
    return str(uuid.uuid4())


def log_unexpected(method: str, path: str, exc: BaseException | None = None) -> str:
    """Log the failure with its traceback under a new error id, and return the id for the answer."""
    error_id = new_error_id()
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else True
    log.error("unexpected error, error id %s: %s %s", error_id, method, path, exc_info=exc_info)
    return error_id


def internal_error_body(error_id: str) -> dict[str, Any]:
    """The {"error", "message"} body of a 500, as the CDS and sandbox areas answer it."""
    return {
        "error": "internal-error",
        "message": f"The server failed; the server log has the cause under error id {error_id}.",
        "errorId": error_id,
    }


def internal_error_outcome(error_id: str) -> dict[str, Any]:
    """The OperationOutcome of a 500, with the same id as text and diagnostics."""
    return operation_outcome(
        [
            issue(
                "error",
                "exception",
                f"Internal error; the server log has the details under error id {error_id}.",
                diagnostics=f"error id {error_id}",
            )
        ]
    )


def unexpected_response(exc: BaseException | None) -> Response:
    """A logged 500 for the current request, in the dialect of its path."""
    error_id = log_unexpected(request.method, request.path, exc)
    if area_of(request.path) == "fhir":
        return fhir_response(internal_error_outcome(error_id), 500)
    return json_response(internal_error_body(error_id), 500)


# --------------------------------------------------------------------------------------------------
# HTTP errors by area


def _error_code(err: HTTPException) -> str:
    """The `error` code: werkzeug's name for the status, e.g. "not-found", "method-not-allowed"."""
    return (err.name or "http-error").lower().replace(" ", "-")


def cds_not_found_message(method: str, path: str) -> str:
    """The 404 message for a path under /cds-services that names nothing: it lists the routes."""
    return f"No such path: {method} {path}; {_CDS_ROUTES}."


def _message(err: HTTPException) -> str:
    path, method = request.path, request.method
    if isinstance(err, NotFound) and _under(path, CDS_AREA):
        # plugin.cds_hooks.EXTENSION_KEY, not imported: that package imports this module.
        if current_app.extensions.get("cds_hooks") is None:
            return (
                f"No such path: {method} {path}. The CDS service is not enabled on this server "
                "([content] cds_hooks is empty)."
            )
        return cds_not_found_message(method, path)
    if isinstance(err, NotFound):
        return f"No such path: {method} {path}."
    if isinstance(err, MethodNotAllowed):
        allowed = ", ".join(err.valid_methods or ())
        return f"{method} is not allowed on {path}" + (f"; allowed: {allowed}." if allowed else ".")
    return err.description or err.name


def http_error_response(err: HTTPException, area: str) -> Response:
    status = err.code or 500
    message = _message(err)
    if area == "fhir":
        response = fhir_response(OperationOutcomeError.simple(status, message).to_resource(), status)
    else:
        response = json_response({"error": _error_code(err), "message": message}, status)
    if isinstance(err, MethodNotAllowed) and err.valid_methods:
        response.headers["Allow"] = ", ".join(err.valid_methods)
    return response


def init_app(app: Flask) -> None:
    """Register the app-wide handlers; called after every area, so theirs are kept as fallbacks."""
    spec = app.error_handler_spec.get(None, {})
    previous = {
        404: spec.get(404, {}).get(NotFound),
        405: spec.get(405, {}).get(MethodNotAllowed),
    }

    def routing_error(err: HTTPException) -> Any:
        area = area_of(request.path)
        if area is not None and not any(_under(request.path, p) for p in TERMINOLOGY_AREAS):
            return http_error_response(err, area)
        # /fhir and /fhir/r5 are the terminology area's (its handler); other paths keep the default.
        fallback = previous.get(err.code or 0)
        return fallback(err) if fallback is not None else err

    app.register_error_handler(404, routing_error)
    app.register_error_handler(405, routing_error)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Any:
        if isinstance(err, InternalServerError) and err.original_exception is not None:
            # Flask wraps what failed outside a view (e.g. in an after_request hook) in a 500.
            return unexpected_response(err.original_exception)
        area = area_of(request.path)
        return http_error_response(err, area) if area is not None else err

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        return unexpected_response(err)
