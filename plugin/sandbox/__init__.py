"""The sandbox area: synthetic and imported patients, their FHIR server, the page, and replay.

Wired into the app by init_app(app): /sandbox/fhir (read-only FHIR R4 over the sandbox patients)
and /sandbox (the page and its small JSON API). `[sandbox] enabled` (default: development mode
only) decides whether they answer or give a 404 naming that key (gate.py).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this area's blueprints; the patients are loaded on first use."""
    from plugin.sandbox import fhir_server, gate, page

    gate.init_app(app)
    app.register_blueprint(fhir_server.bp)
    app.register_blueprint(page.bp)
