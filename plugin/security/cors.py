"""CORS for browser-based CDS clients (e.g. the CDS Hooks Sandbox) and browser FHIR clients.

Preflights (OPTIONS with Origin and Access-Control-Request-Method) are answered here, before any
authentication, because browsers never send credentials on a preflight. Actual responses, errors
and 401s included, carry Access-Control-Allow-Origin so the page can read the status.
Bearer tokens travel in a header, not a cookie, so credentials mode is never enabled.
"""

from __future__ import annotations

from flask import Flask, Response, request

ALLOW_HEADERS = "Authorization, Content-Type, Accept, Prefer, If-None-Match, If-Modified-Since"
ALLOW_METHODS = "GET, POST, OPTIONS"
EXPOSE_HEADERS = "Location, ETag, Last-Modified, Content-Location, WWW-Authenticate"


def _allowed_origin(app: Flask, origin: str | None) -> str | None:
    if not origin:
        return None
    origins: list[str] = app.config["PLUGIN"]["cors"]["origins"]
    if "*" in origins:
        return "*"
    normalised = origin.rstrip("/")
    return normalised if normalised in {o.rstrip("/") for o in origins} else None


def is_preflight() -> bool:
    return (
        request.method == "OPTIONS"
        and "Origin" in request.headers
        and "Access-Control-Request-Method" in request.headers
    )


def preflight_headers(app: Flask, origin: str | None) -> list[tuple[str, str]]:
    """The headers of the 204 answering a preflight from `origin`."""
    allowed = _allowed_origin(app, origin)
    headers: list[tuple[str, str]] = []
    if allowed:
        headers.append(("Access-Control-Allow-Origin", allowed))
        headers.append(("Access-Control-Allow-Methods", ALLOW_METHODS))
        headers.append(("Access-Control-Allow-Headers", ALLOW_HEADERS))
        headers.append(("Access-Control-Max-Age", str(app.config["PLUGIN"]["cors"]["max_age_seconds"])))
    if allowed != "*":
        headers.append(("Vary", "Origin"))
    return headers


def preflight_response(app: Flask) -> Response:
    response = Response(status=204)
    del response.headers["Content-Type"]
    for name, value in preflight_headers(app, request.headers.get("Origin")):
        response.headers[name] = value
    return response


def cors_headers(app: Flask, origin: str | None) -> list[tuple[str, str]]:
    """The CORS headers of an actual (non-preflight) response to a request from `origin`."""
    allowed = _allowed_origin(app, origin)
    headers: list[tuple[str, str]] = []
    if allowed:
        headers.append(("Access-Control-Allow-Origin", allowed))
        headers.append(("Access-Control-Expose-Headers", EXPOSE_HEADERS))
    if allowed != "*":
        headers.append(("Vary", "Origin"))
    return headers


def add_cors_headers(app: Flask, response: Response) -> Response:
    allowed = _allowed_origin(app, request.headers.get("Origin"))
    if allowed and "Access-Control-Allow-Origin" not in response.headers:
        response.headers["Access-Control-Allow-Origin"] = allowed
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    if allowed != "*":
        if "Vary" in response.headers:
            response.vary.add("Origin")
        else:  # the common case, without parsing and re-serialising a header set
            response.headers["Vary"] = "Origin"
    return response
