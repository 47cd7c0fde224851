"""The storage area: one Store per app, opened from `[storage] url`."""

from __future__ import annotations

import os
import threading

from flask import Flask, current_app

from plugin.storage.store import Store, StoreInputError

__all__ = ["Store", "StoreInputError", "get_store", "init_app"]

EXTENSION_KEY = "store"
_open_lock = threading.Lock()


def init_app(app: Flask) -> None:
    """Open the configured store lazily: the first request (or CLI use) connects, not the import."""
    app.extensions[EXTENSION_KEY] = None


def get_store(app: Flask | None = None) -> Store:
    application = app or current_app
    store = application.extensions.get(EXTENSION_KEY)
    if store is not None and store.pid != os.getpid():
        # Opened before a fork (e.g. gunicorn --preload): this process must not reuse the parent's
        # connections; drop them from its pool without closing them under the parent.
        store.engine.dispose(close=False)
        store.pid = os.getpid()
    if store is None:
        # Threads of one worker share one engine (and its pool); each forked worker opens its own.
        with _open_lock:
            store = application.extensions.get(EXTENSION_KEY)
            if store is None:
                store = Store(application.config["PLUGIN"]["storage"]["url"])
                application.extensions[EXTENSION_KEY] = store
    return store
