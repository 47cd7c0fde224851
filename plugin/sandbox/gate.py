"""Whether the sandbox is served at all, and the 404 every /sandbox path gets when it is not.

The sandbox page and its FHIR server hand synthetic and imported patient records to anyone who can
reach them, and the page calls /cds-services without credentials of its own. So it follows the mode
(see `plugin.config.sandbox_enabled`): on in development mode, off once a server requires JWTs or
trusts issuers, unless `[sandbox] enabled = true` says otherwise.

The routes stay registered either way (the URL map, and so /openapi.json, does not depend on the
configuration); a before_request hook answers every /sandbox path with a 404 that names the key.
"""

from __future__ import annotations

import logging
from html import escape
from typing import Any

from flask import Flask, Response, request

from plugin.config import sandbox_enabled
from plugin.http import fhir_response, json_response
from plugin.operation_outcome import OperationOutcomeError

log = logging.getLogger(__name__)
PREFIX = "/sandbox"


def disabled_message(settings: dict[str, Any]) -> str:
    why = (
        "sandbox.enabled is false in the configuration"
        if settings["sandbox"].get("enabled") is False
        else "sandbox.enabled is off by default when security.require_jwt is true or issuers are configured"
    )
    return (
        f"The sandbox is disabled on this server: {why}. To serve it, set enabled = true under "
        "[sandbox] in the configuration file."
    )


def is_sandbox_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def _page(message: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Sandbox disabled</title>'
        '</head><body><h1>Sandbox disabled</h1><p id="sandbox-disabled">'
        f"{escape(message)}</p></body></html>\n"
    )


def disabled_response(path: str, message: str) -> Response:
    """404 in the form each part of the sandbox speaks: FHIR, the JSON API, or the page."""
    if path == f"{PREFIX}/fhir" or path.startswith(f"{PREFIX}/fhir/"):
        outcome = OperationOutcomeError.simple(404, message, "not-found").to_resource()
        return fhir_response(outcome, 404)
    body = {"error": "sandbox-disabled", "message": message}
    if path.startswith(f"{PREFIX}/api/"):
        return json_response(body, 404)
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json":
        return json_response(body, 404)
    return Response(_page(message), status=404, content_type="text/html; charset=utf-8")


def init_app(app: Flask) -> None:
    settings = app.config["PLUGIN"]
    if sandbox_enabled(settings):
        return
    message = disabled_message(settings)
    log.info("%s", message)

    @app.before_request
    def _sandbox_disabled() -> Any:
        if is_sandbox_path(request.path):
            return disabled_response(request.path, message)
        return None
