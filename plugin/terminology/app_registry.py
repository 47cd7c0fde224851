"""The registries an app holds: the shared one and, per FHIR endpoint, the one that endpoint sees.

Kept apart from the package's `init_app` so the HTTP layer and the engine can reach the registry
without importing the package that wires them together.
"""

from __future__ import annotations

from flask import Flask, current_app

from plugin.terminology.model.registry import Registry

EXTENSION_KEY = "terminology_registry"
ENDPOINTS_KEY = "terminology_endpoint_registries"


def get_registry(app: Flask | None = None, fhir_version: str | None = None) -> Registry:
    """The shared registry of the given (or current) app; with `fhir_version` ("R4" or "R5"), what
    that endpoint sees: its own FHIR-version packages over the shared registry."""
    extensions = (app or current_app).extensions
    if fhir_version is None:
        return extensions[EXTENSION_KEY]
    return extensions[ENDPOINTS_KEY][fhir_version]
