"""The CDS Hooks 2.0 service: discovery, order-select / order-sign / appointment-book, feedback.

Content (service definitions, rules, fact snapshots, JSON Schemas) is loaded from `[content] cds_hooks`
once, after the terminology registry, because the age and documentation rules read terminology.
Its HTTP surface, all of /cds-services, is one WSGI adapter (adapter.py), mounted by create_app.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from plugin.cds_hooks import binders
from plugin.cds_hooks.adapter import PREFIX, CdsHttpAdapter
from plugin.cds_hooks.engine import load_rules
from plugin.cds_hooks.pipeline import CdsHooks
from plugin.cds_hooks.schemas import load_schemas
from plugin.cds_hooks.services import load_services
from plugin.cds_hooks.tables import load_tables
from plugin.config import resolve_path
from plugin.terminology import get_registry

__all__ = ["EXTENSION_KEY", "PREFIX", "CdsHttpAdapter", "get_cds", "http_adapter", "init_app", "load_cds"]

EXTENSION_KEY = "cds_hooks"


def get_cds() -> CdsHooks:
    return current_app.extensions[EXTENSION_KEY]


def load_cds(folder: Path, app: Flask) -> CdsHooks:
    schemas = load_schemas(folder / "schemas")
    catalog = load_services(folder / "services.json", schemas)
    tables = load_tables(folder / "facts")
    rule_schema = schemas.validator("rule.schema.json").schema
    rules = load_rules(
        folder / "rules",
        rule_schema,
        tables,
        get_registry(app),
        binders.registry(),
        schemas.fast.get("rule.schema.json"),
    )
    return CdsHooks(schemas, catalog, tables, rules)


def init_app(app: Flask) -> None:
    """Load the CDS content.

    `[content] cds_hooks = ""` runs without the CDS service: a terminology-only deployment, or one
    whose terminology content does not carry the value sets and maps the rules read.
    """
    settings = app.config["PLUGIN"]
    if not settings["content"]["cds_hooks"]:
        return
    folder = resolve_path(settings, settings["content"]["cds_hooks"])
    app.extensions[EXTENSION_KEY] = load_cds(folder, app)


def http_adapter(app: Flask) -> CdsHttpAdapter | None:
    """The WSGI app that answers /cds-services, or None when the service is off."""
    cds: CdsHooks | None = app.extensions.get(EXTENSION_KEY)
    return CdsHttpAdapter(app, cds) if cds is not None else None
