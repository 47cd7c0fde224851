"""Flask application factory: one blueprint per area, each subsystem wired in by its own init_app."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from plugin import cds_hooks, sandbox, security, storage, terminology
from plugin.config import load_settings
from plugin.http import json_response
from plugin.version import __version__


def create_app(
    config: dict[str, Any] | None = None, config_file: str | os.PathLike[str] | None = None
) -> Flask:
    app = Flask(__name__)
    app.config["PLUGIN"] = load_settings(config, config_file)
    app.json.sort_keys = False  # FHIR and CDS Hooks readers expect keys in the order we wrote them
    app.url_map.strict_slashes = False

    # Order matters: security hooks run before any area's handlers; storage before the areas that write.
    security.init_app(app)
    storage.init_app(app)
    terminology.init_app(app)
    cds_hooks.init_app(app)
    sandbox.init_app(app)

    @app.get("/")
    def index() -> Any:
        return json_response(
            {
                "name": "cpt-plugin",
                "version": __version__,
                "links": {
                    "fhir_r4": "/fhir/metadata",
                    "fhir_r5": "/fhir/r5/metadata",
                    "cds_services": "/cds-services",
                    "sandbox": "/sandbox",
                    "sandbox_fhir": "/sandbox/fhir",
                    "openapi": "/openapi.json",
                },
            }
        )

    return app
