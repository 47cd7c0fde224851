"""The terminology area: the registry of published resources and the FHIR API over it."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from plugin.config import resolve_path
from plugin.terminology import http
from plugin.terminology.app_registry import ENDPOINTS_KEY, EXTENSION_KEY, get_registry
from plugin.terminology.model.registry import Registry, load_packages, load_registry
from plugin.terminology.model.warmup import warm_terminology

__all__ = ["EXTENSION_KEY", "ENDPOINTS_KEY", "get_registry", "init_app"]
PREFORK_WARMUPS_KEY = "prefork_warmups"  # plugin.serving.WARMUPS_KEY (not imported: it loads gunicorn)
# FHIR-version-specific packages (e.g. hl7.fhir.r4.core for /fhir, hl7.fhir.r5.core for /fhir/r5): each
# endpoint sees its own on top of the shared registry, so a core code system answers in that version.
ENDPOINT_PACKAGES = {"R4": "r4_packages", "R5": "r5_packages"}
# The few FHIR core code systems and value sets the product and the terminology tests use, each
# endpoint in its own FHIR version's content (provenance: data/core/README.md). Configured
# packages load over them, so a full hl7.fhir.r4.core / r5.core replaces them.
CORE_CONTENT = {
    "R4": Path(__file__).with_name("data") / "core" / "r4",
    "R5": Path(__file__).with_name("data") / "core" / "r5",
}


def init_app(app: Flask) -> None:
    """Load fhir_bundles/ plus configured extra folders and packages; serve /fhir and /fhir/r5."""
    settings = app.config["PLUGIN"]
    content = settings["content"]
    folders = [Path(content["fhir_bundles"])]
    folders = [f for f in folders if f.is_dir()]
    folders += [resolve_path(settings, p) for p in content.get("paths", [])]
    packages = [resolve_path(settings, p) for p in content.get("packages", [])]
    shared = load_registry(folders, packages)
    _add_icd10cm(settings, shared)
    app.extensions[EXTENSION_KEY] = shared
    tx_settings = settings.get("terminology", {})
    endpoints: dict[str, Registry] = {}
    for fhir_version, key in ENDPOINT_PACKAGES.items():
        core = load_registry([CORE_CONTENT[fhir_version]], parent=shared)
        own = [resolve_path(settings, p) for p in tx_settings.get(key, [])]
        endpoints[fhir_version] = load_packages(own, parent=core) if own else core
    app.extensions[ENDPOINTS_KEY] = endpoints

    # Index the shared code systems where the app is loaded (the gunicorn master, with preload), so
    # the workers share them instead of each building its own on first use (plugin/serving.py).
    app.extensions.setdefault(PREFORK_WARMUPS_KEY, []).append(lambda: warm_terminology(shared, endpoints))
    http.register(app)


def _add_icd10cm(settings: dict, registry: Registry) -> None:
    """Serve ICD-10-CM from the CDC tabular XML (plugin/content/icd10cm.py), unless configured off."""
    choice = settings["content"].get("icd10cm", "")
    if not choice:
        return
    from plugin.content import icd10cm_view
    from plugin.content.icd10cm import cached_tabular

    icd10cm_view.register()
    path = None if choice == "bundled" else resolve_path(settings, choice)
    resource, origin = cached_tabular(path)
    registry.add(resource, origin, built=True)
