"""The storage area: one Store per app, opened from `[storage] url`, and the health endpoints.

GET /healthz: the process answers (liveness: restart it when this fails).
GET /readyz:  the store answers a query and its schema is at the revision this code needs
              (readiness: send it traffic only while this is 200). 503 with the reason otherwise.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from flask import Flask, current_app
from sqlalchemy.engine import make_url

from plugin.http import json_response
from plugin.storage.store import Store, StoreInputError

__all__ = ["Store", "StoreInputError", "enable_background_purge", "get_store", "init_app", "open_before_fork"]

EXTENSION_KEY = "store"
PURGE_KEY = "store_background_purge"
PREFORK_WARMUPS_KEY = "prefork_warmups"  # plugin.serving.WARMUPS_KEY (not imported: it loads gunicorn)
_open_lock = threading.Lock()
log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Open the configured store lazily: the first request (or CLI use) connects, not the import."""
    app.extensions[EXTENSION_KEY] = None
    url = make_url(app.config["PLUGIN"]["storage"]["url"])
    if url.get_backend_name() == "postgresql":
        # Import the driver before gunicorn forks (plugin/serving.py runs `prefork_warmups`): each
        # worker would otherwise pay the import on its first request, and keep its own copy.
        app.extensions.setdefault(PREFORK_WARMUPS_KEY, []).append(_import_postgresql_driver)
    elif url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        app.extensions.setdefault(PREFORK_WARMUPS_KEY, []).append(lambda: open_before_fork(app))

    @app.get("/healthz")
    def healthz() -> Any:
        return json_response({"status": "ok"})

    @app.get("/readyz")
    def readyz() -> Any:
        problem = readiness_problem(app)
        if problem:
            return json_response({"status": "unavailable", "problem": problem}, status=503)
        return json_response({"status": "ready"})


def open_before_fork(app: Flask) -> None:
    """Open the embedded SQLite store in the process that forks the workers.

    Opening it costs about 30 ms (the SQLite dialect's import and the schema check). Paid lazily, it
    fell on the first hook call of every worker, and again after every max_requests recycling: a
    30-40 ms answer in the middle of steady traffic. Each worker still opens its own connections
    (get_store drops the inherited ones) and starts its own purge; none runs in the forking process.
    A store that cannot be opened here is left to the first request, which reports it as before."""
    from sqlalchemy.exc import SQLAlchemyError

    with _open_lock:
        if app.extensions.get(EXTENSION_KEY) is not None:
            return
        try:
            app.extensions[EXTENSION_KEY] = Store(app.config["PLUGIN"]["storage"]["url"])
        except (SQLAlchemyError, OSError) as exc:
            log.warning("the store could not be opened before the workers start: %s", exc)


def _import_postgresql_driver() -> None:
    import psycopg  # noqa: F401
    import sqlalchemy.dialects.postgresql.psycopg  # noqa: F401


def readiness_problem(app: Flask) -> str | None:
    """Why this instance should not get traffic, or None."""
    from sqlalchemy.exc import SQLAlchemyError

    from plugin.storage.migrate import status

    try:
        return status(get_store(app).engine).problem()
    except SQLAlchemyError as exc:
        return f"the store does not answer: {type(exc).__name__}"


def enable_background_purge(app: Flask) -> None:
    """Serve mode: each process that opens the store also trims it by `[storage.retention]`."""
    app.extensions[PURGE_KEY] = True


def _start_purge(application: Flask, store: Store) -> None:
    from plugin.storage.retention import BackgroundPurge, Retention

    retention = Retention.from_settings(application.config["PLUGIN"]["storage"])
    if retention.purge_interval_seconds > 0:
        store.background_purge = BackgroundPurge(store.engine, retention).start()


def get_store(app: Flask | None = None) -> Store:
    application = app or current_app
    store = application.extensions.get(EXTENSION_KEY)
    if store is not None and store.pid != os.getpid():
        # Opened before a fork (e.g. gunicorn --preload): this process must not reuse the parent's
        # connections; drop them from its pool without closing them under the parent.
        store.engine.dispose(close=False)
        store.pid = os.getpid()
        if application.extensions.get(PURGE_KEY):
            _start_purge(application, store)  # the parent's purge thread did not come along
    if store is None:
        # Threads of one worker share one engine (and its pool); each forked worker opens its own.
        with _open_lock:
            store = application.extensions.get(EXTENSION_KEY)
            if store is None:
                store = Store(application.config["PLUGIN"]["storage"]["url"])
                application.extensions[EXTENSION_KEY] = store
                if application.extensions.get(PURGE_KEY):
                    _start_purge(application, store)
    return store
