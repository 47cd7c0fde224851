"""The terminology area: the registry of published resources and the FHIR API over it."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from plugin.config import resolve_path
from plugin.terminology.registry import Registry, load_registry

EXTENSION_KEY = "terminology_registry"


def init_app(app: Flask) -> None:
    """Load fhir_bundles/ plus configured extra folders and packages; serve /fhir and /fhir/r5."""
    settings = app.config["PLUGIN"]
    content = settings["content"]
    folders = [Path(content["fhir_bundles"])]
    folders = [f for f in folders if f.is_dir()]
    folders += [resolve_path(settings, p) for p in content.get("paths", [])]
    packages = [resolve_path(settings, p) for p in content.get("packages", [])]
    app.extensions[EXTENSION_KEY] = load_registry(folders, packages)

    from plugin.terminology import blueprint

    blueprint.register(app)


def get_registry(app: Flask | None = None) -> Registry:
    """The shared registry of the given (or current) app."""
    return (app or current_app).extensions[EXTENSION_KEY]
