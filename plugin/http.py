"""Small HTTP helpers shared by every area: fast JSON in and out, FHIR media types."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson
from flask import Response

FHIR_JSON = "application/fhir+json"
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def json_response(body: Any, status: int = 200, content_type: str = "application/json") -> Response:
    return Response(orjson.dumps(body), status=status, content_type=content_type)


def fhir_response(resource: dict[str, Any], status: int = 200) -> Response:
    return json_response(resource, status=status, content_type=f"{FHIR_JSON}; charset=utf-8")


# ------------------------------------------------------------------------------------------------
# Doubled slashes. A CDS client that is given the discovery URL with a trailing slash
# (".../cds-services/") joins service ids with another one and POSTs to "/cds-services//{id}"; a
# FHIR client does the same with a base ending in "/". Werkzeug's router would answer such a path with
# a redirect (which a POST does not survive in every client) or a 405 from a GET-only rule, so the path
# is collapsed before anything routes it, the WSGI-level service call included. Only the two API areas
# are touched: elsewhere (the sandbox page and its static files) a path is taken as sent.

SENT_PATH_KEY = "cpt_plugin.path_as_sent"
_COLLAPSED_AREAS = ("/cds-services", "/fhir")


def collapse_slashes(path: str) -> str | None:
    """`path` with every run of slashes made one, when it lies under /cds-services or /fhir; else None."""
    collapsed = "/" + "/".join(part for part in path.split("/") if part)
    if path.endswith("/") and collapsed != "/":
        collapsed += "/"
    if any(collapsed == area or collapsed.startswith(area + "/") for area in _COLLAPSED_AREAS):
        return collapsed
    return None


class CollapseSlashes:
    """WSGI middleware: serve "/cds-services//x" (and "/fhir//x") as "/cds-services/x".

    The path as sent stays in the environ under SENT_PATH_KEY, because a client JWT's `aud` names the
    URL the client called, doubled slash and all."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO") or ""
        if "//" in path:  # the only per-request cost on well-formed paths
            collapsed = collapse_slashes(path)
            if collapsed is not None:
                environ[SENT_PATH_KEY] = path
                environ["PATH_INFO"] = collapsed
        return self.app(environ, start_response)


class Mount:
    """WSGI middleware: requests under `prefix` go to `mounted`, every other one to `app`."""

    def __init__(self, app: Any, prefix: str, mounted: Any) -> None:
        self.app = app
        self.prefix = prefix
        self.mounted = mounted

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path: str = environ.get("PATH_INFO") or ""
        if path.startswith(self.prefix) and (len(path) == len(self.prefix) or path[len(self.prefix)] == "/"):
            return self.mounted(environ, start_response)
        return self.app(environ, start_response)
