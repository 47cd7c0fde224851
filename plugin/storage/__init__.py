"""The storage area: one Store per app, opened from `[storage] url`."""

from __future__ import annotations

from flask import Flask, current_app

from plugin.storage.store import Store

EXTENSION_KEY = "store"


def init_app(app: Flask) -> None:
    """Open the configured store lazily: the first request (or CLI use) connects, not the import."""
    app.extensions[EXTENSION_KEY] = None


def get_store(app: Flask | None = None) -> Store:
    application = app or current_app
    store = application.extensions.get(EXTENSION_KEY)
    if store is None:
        store = Store(application.config["PLUGIN"]["storage"]["url"])
        application.extensions[EXTENSION_KEY] = store
    return store
