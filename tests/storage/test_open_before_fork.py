"""The embedded SQLite store is opened by the pre-fork warm-up, in the process that forks the workers:
its schema is in place before any worker exists, a worker's first hook call does not open it (about
30 ms, paid again after every max_requests recycling before), each worker still uses connections
and a purge thread of its own, and a store that cannot be opened is left to the first request."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from plugin.app import create_app
from plugin.serving import WARMUPS_KEY, run_warmups
from plugin.storage import EXTENSION_KEY, Store, enable_background_purge, get_store
from tools.bench.payloads import SERVICE_ID, order_sign_request


def _app(url: str):
    return create_app({"storage": {"url": url}, "audit": {"log": "off"}})


def _purge_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "cpt-plugin-retention"]


def test_warmup__opens_the_sqlite_store_and_its_schema_without_a_purge_thread(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    app = _app(f"sqlite:///{db}")
    enable_background_purge(app)
    assert app.extensions[EXTENSION_KEY] is None
    before = _purge_threads()
    run_warmups(app)
    store = app.extensions[EXTENSION_KEY]
    assert isinstance(store, Store) and store.pid == os.getpid()
    assert store.background_purge is None, "the forking process runs no purge"
    assert _purge_threads() == before
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}
    assert {"issued_cards", "audit", "feedback", "jwt_replay"} <= tables
    store.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_worker__first_hook_call_uses_the_store_opened_before_the_fork(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    app = _app(f"sqlite:///{db}")
    enable_background_purge(app)
    run_warmups(app)
    parent_store = app.extensions[EXTENSION_KEY]

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a worker opened the store again")

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker
        code = 1
        try:
            Store.__init__ = refuse  # type: ignore[method-assign]
            client = app.test_client()
            answer = client.post(f"/cds-services/{SERVICE_ID}", json=order_sign_request())
            store = get_store(app)
            ok = (
                answer.status_code == 200
                and store is parent_store
                and store.pid == os.getpid()
                and store.background_purge is not None
            )
            store.flush()
            os.write(write, b"ok" if ok else f"bad {answer.status_code}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    said = os.read(read, 100)
    os.close(read)
    assert os.waitstatus_to_exitcode(status) == 0
    assert said == b"ok", said
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from audit").fetchone()[0] == 1, "the worker wrote its row"
    parent_store.close()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_sqlite__is_not_opened_before_the_fork(url: str) -> None:
    app = _app(url)
    run_warmups(app)
    assert app.extensions[EXTENSION_KEY] is None


def test_store_that_cannot_be_opened__is_left_to_the_first_request(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    app = _app(f"sqlite:///{blocker}/store.db")
    assert app.extensions.get(WARMUPS_KEY)
    with caplog.at_level("WARNING", logger="plugin.storage"):
        run_warmups(app)
    assert app.extensions[EXTENSION_KEY] is None
    assert "could not be opened before the workers start" in caplog.text
