"""Error bodies in the caller's dialect: OperationOutcome under FHIR paths, CDS Hooks JSON elsewhere.

The CDS answers are also kept as plain data (`Refusal`), so the WSGI-level CDS adapter
(plugin/cds_hooks/adapter.py) sends exactly what a Flask route would send.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Response, request

from plugin.http import fhir_response, json_response
from plugin.operation_outcome import OperationOutcomeError

_FHIR_PREFIXES = ("/fhir", "/sandbox/fhir")


@dataclass(frozen=True)
class Refusal:
    """A CDS Hooks error answer: status, JSON body and extra headers."""

    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()

    def to_response(self) -> Response:
        response = json_response(self.body, status=self.status)
        for name, value in self.headers:
            response.headers[name] = value
        return response


# The same body for every failure: the reason is in the server log, not for the caller.
UNAUTHORIZED = Refusal(
    401,
    {"error": "unauthorized", "message": "Authentication failed."},
    (("WWW-Authenticate", 'Bearer realm="cds-services"'),),
)


def unauthorized_refusal(remedy: str | None = None) -> Refusal:
    """The 401; with `remedy` (what the operator could configure to accept the token, see
    jwt_auth.AuthError), the body says it, since the caller is often the one who asks the operator."""
    if remedy is None:
        return UNAUTHORIZED
    body = {"error": "unauthorized", "message": f"Authentication failed: {remedy}."}
    return Refusal(401, body, UNAUTHORIZED.headers)


UNAVAILABLE = Refusal(
    503,
    {"error": "unavailable", "message": "The service cannot check credentials right now; retry later."},
    (("Retry-After", "5"),),
)


def too_large_refusal(limit: int) -> Refusal:
    return Refusal(
        413, {"error": "payload-too-large", "message": f"The request body is larger than {limit} bytes."}
    )


def is_fhir_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in _FHIR_PREFIXES)


def error_response(status: int, error: str, message: str) -> Response:
    if is_fhir_path(request.path):
        return fhir_response(OperationOutcomeError.simple(status, message).to_resource(), status)
    return json_response({"error": error, "message": message}, status=status)


def too_large(limit: int) -> Response:
    if is_fhir_path(request.path):
        return error_response(413, "payload-too-large", too_large_refusal(limit).body["message"])
    return too_large_refusal(limit).to_response()


def unauthorized() -> Response:
    return UNAUTHORIZED.to_response()


def unavailable() -> Response:
    return UNAVAILABLE.to_response()
