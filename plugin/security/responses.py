"""Error bodies in the caller's dialect: OperationOutcome under FHIR paths, CDS Hooks JSON elsewhere."""

from __future__ import annotations

from flask import Response, request

from plugin.http import fhir_response, json_response
from plugin.operation_outcome import OperationOutcomeError

_FHIR_PREFIXES = ("/fhir", "/sandbox/fhir")


def is_fhir_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in _FHIR_PREFIXES)


def error_response(status: int, error: str, message: str) -> Response:
    if is_fhir_path(request.path):
        return fhir_response(OperationOutcomeError.simple(status, message).to_resource(), status)
    return json_response({"error": error, "message": message}, status=status)


def too_large(limit: int) -> Response:
    return error_response(413, "payload-too-large", f"The request body is larger than {limit} bytes.")


def unauthorized() -> Response:
    # The same body for every failure: the reason is in the server log, not for the caller.
    response = json_response({"error": "unauthorized", "message": "Authentication failed."}, status=401)
    response.headers["WWW-Authenticate"] = 'Bearer realm="cds-services"'
    return response


def unavailable() -> Response:
    response = json_response(
        {"error": "unavailable", "message": "The service cannot check credentials right now; retry later."},
        status=503,
    )
    response.headers["Retry-After"] = "5"
    return response
