"""Flask application factory: one blueprint per area, each subsystem wired in by its own init_app,
and the WSGI stack around Flask composed here, in one place (`wsgi_stack`)."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from plugin import cds_hooks, clock, errors, openapi, pages, sandbox, security, storage, terminology
from plugin.config import load_settings, sandbox_enabled
from plugin.http import CollapseSlashes, Mount, WsgiApp
from plugin.security.body_limit import ChunkedBodyLimit


def wsgi_stack(app: Flask, flask_wsgi: WsgiApp) -> WsgiApp:
    """The WSGI layers in front of Flask, outermost first; no init_app replaces app.wsgi_app.

    1. CollapseSlashes: "/cds-services//x" is served as "/cds-services/x" (plugin/http.py), so every
       layer below routes the collapsed path.
    2. ChunkedBodyLimit: a chunked body is buffered up to the size limit and given a Content-Length,
       so the 413 check of the CDS adapter and of Flask sees its size.
    3. /cds-services goes to the CDS Hooks adapter (plugin/cds_hooks/adapter.py), when the service is
       on; everything else (and /cds-services when it is off) to Flask.
    """
    layer = flask_wsgi
    adapter = cds_hooks.http_adapter(app)
    if adapter is not None:
        layer = Mount(layer, cds_hooks.PREFIX, adapter)
    layer = ChunkedBodyLimit(layer, app.extensions[security.BODY_LIMIT_KEY])
    return CollapseSlashes(layer)


def create_app(
    config: dict[str, Any] | None = None, config_file: str | os.PathLike[str] | None = None
) -> Flask:
    app = Flask(__name__)
    app.config["PLUGIN"] = load_settings(config, config_file)
    app.json.sort_keys = False  # FHIR and CDS Hooks readers expect keys in the order we wrote them
    app.url_map.strict_slashes = False
    # One clock for the whole product; a configured date (or CPT_PLUGIN_TODAY) pins it for demos.
    clock.configure(app.config["PLUGIN"]["clock"]["today"])

    # Order matters: security hooks run before any area's handlers; storage before the areas that write.
    security.init_app(app)
    storage.init_app(app)
    terminology.init_app(app)
    cds_hooks.init_app(app)
    sandbox.init_app(app)
    openapi.init_app(app)
    # After the areas: JSON for what none of them sees (routing errors, unexpected exceptions).
    errors.init_app(app)
    app.wsgi_app = wsgi_stack(app, app.wsgi_app)  # type: ignore[method-assign]

    links = {"fhir_r4": "/fhir/metadata", "fhir_r5": "/fhir/r5/metadata"}
    if app.extensions.get(cds_hooks.EXTENSION_KEY) is not None:
        links["cds_services"] = "/cds-services"
    if sandbox_enabled(app.config["PLUGIN"]):
        links |= {"sandbox": "/sandbox", "sandbox_fhir": "/sandbox/fhir"}
    links["openapi"] = "/openapi.json"
    # The landing page at / (JSON index for programs) and the code pages under /codes.
    pages.init_app(app, links)

    return app
