"""The replay ledger: claims are shared at once between stores on one database without an fsync of
their own (SQLite WAL at NORMAL; PostgreSQL synchronous_commit off for the claim connection only),
a forked process opens its own connection, and a ledger that cannot answer refuses the token (503)."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from plugin.storage.replay import ReplayStoreError
from plugin.storage.store import Store
from tests.security.conftest import build_secure_app, es384_signer
from tools.bench.payloads import SERVICE_ID, order_sign_request


def test_sqlite_claims__wal_at_normal__seen_by_another_store_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    first, second = Store(url), Store(url)
    expires = int(time.time()) + 60
    assert first.claim_jti("https://ehr", "j1", expires) is True
    assert second.claim_jti("https://ehr", "j1", expires) is False
    conn = first.ledger._connection()
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL: no fsync per claim
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    first.close()
    second.close()


@pytest.mark.postgres
def test_postgresql_claims__asynchronous_commit_for_claims_only(postgres_url: str) -> None:
    first, second = Store(postgres_url), Store(postgres_url)
    expires = int(time.time()) + 60
    assert first.claim_jti("https://ehr", "p1", expires) is True
    assert second.claim_jti("https://ehr", "p1", expires) is False
    claim_conn = first.ledger._connection()
    assert claim_conn.execute("SHOW synchronous_commit").fetchone()[0] == "off"
    with first.engine.connect() as conn:  # feedback and the rest keep the durable default
        assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
    first.close()
    second.close()


def test_forked_child__opens_its_own_claim_connection(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'f.db'}")
    assert store.claim_jti("https://ehr", "parent", int(time.time()) + 60)
    parent_conn = store.ledger._conn
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            ok = store.claim_jti("https://ehr", "child", int(time.time()) + 60)
            replay = store.claim_jti("https://ehr", "parent", int(time.time()) + 60)
            own = store.ledger._conn is not parent_conn
            os.write(write, b"1" if ok and not replay and own else b"0")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    assert store.claim_jti("https://ehr", "child", int(time.time()) + 60) is False
    store.close()


def test_ledger_that_cannot_answer__token_refused_503(tmp_path: Path) -> None:
    signer = es384_signer()
    app = build_secure_app(tmp_path, signer)
    client = app.test_client()
    url = f"http://localhost/cds-services/{SERVICE_ID}"

    def call() -> object:
        return client.post(
            f"/cds-services/{SERVICE_ID}",
            json=order_sign_request(1),
            headers={"Authorization": f"Bearer {signer.token(url)}"},
        )

    assert call().status_code == 200
    with sqlite3.connect(tmp_path / "feedback.db") as conn:
        conn.execute("DROP TABLE jwt_replay")
    answer = call()
    assert answer.status_code == 503
    with pytest.raises(ReplayStoreError):
        app.extensions["store"].claim_jti("https://ehr", "x", int(time.time()) + 60)
    app.extensions["store"].close()


def test_sqlite_claim__waits_out_another_writer_then_answers(tmp_path: Path) -> None:
    # Another process's write-behind transaction holds the write lock for a while: the claim waits
    # (retrying, not failing) and is answered once the lock is free; a replay is still refused.
    url = f"sqlite:///{tmp_path / 'w.db'}"
    store = Store(url)
    expires = int(time.time()) + 60
    assert store.claim_jti("https://ehr", "warm", expires) is True
    other = sqlite3.connect(tmp_path / "w.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO jwt_replay (token_key, expires_at) VALUES ('held', 1)")
    import threading

    def release_later() -> None:
        time.sleep(0.3)  # not threading.Timer: its timed wait never ends under libfaketime (date runs)
        other.execute("COMMIT")

    timer = threading.Thread(target=release_later)
    started = time.monotonic()
    timer.start()
    try:
        assert store.claim_jti("https://ehr", "late", expires) is True
    finally:
        timer.join()
    assert time.monotonic() - started >= 0.25  # it did wait for the other writer
    assert store.claim_jti("https://ehr", "late", expires) is False
    conn = store.ledger._connection()
    # Checkpoints are left to the write-behind connection (default 1,000 pages); see replay.py.
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] > 1000
    other.close()
    store.close()


def test_sqlite_claim__lock_never_released__refused_after_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plugin.storage import replay

    monkeypatch.setattr(replay, "_BUSY_LIMIT_SECONDS", 0.2)
    store = Store(f"sqlite:///{tmp_path / 'l.db'}")
    assert store.claim_jti("https://ehr", "warm", int(time.time()) + 60) is True
    other = sqlite3.connect(tmp_path / "l.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(ReplayStoreError, match="locked"):
        store.claim_jti("https://ehr", "stuck", int(time.time()) + 60)
    other.execute("ROLLBACK")
    assert store.claim_jti("https://ehr", "stuck", int(time.time()) + 60) is True
    other.close()
    store.close()
