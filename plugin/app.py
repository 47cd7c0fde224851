"""Flask application factory: one blueprint per area, each subsystem wired in by its own init_app."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from plugin import cds_hooks, clock, errors, pages, sandbox, security, storage, terminology
from plugin.cds_hooks.blueprint import EXTENSION_KEY as CDS_EXTENSION_KEY
from plugin.config import load_settings, sandbox_enabled
from plugin.http import CollapseSlashes


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
    # After the areas: JSON for what none of them sees (routing errors, unexpected exceptions).
    errors.init_app(app)
    # Outermost, so the WSGI-level service call (cds_hooks.HookEndpoint) sees the collapsed path too.
    app.wsgi_app = CollapseSlashes(app.wsgi_app)  # type: ignore[method-assign]

    links = {"fhir_r4": "/fhir/metadata", "fhir_r5": "/fhir/r5/metadata"}
    if app.extensions.get(CDS_EXTENSION_KEY) is not None:
        links["cds_services"] = "/cds-services"
    if sandbox_enabled(app.config["PLUGIN"]):
        links |= {"sandbox": "/sandbox", "sandbox_fhir": "/sandbox/fhir"}
    links["openapi"] = "/openapi.json"
    # The landing page at / (JSON index for programs) and the code pages under /codes.
    pages.init_app(app, links)

    return app
