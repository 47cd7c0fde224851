"""Issued-card and audit rows are written behind the response, and none is lost on a normal shutdown.

Unit level: batches land, readers flush first, a full queue makes the caller write, one bad row costs
only itself, a forked child does not write its parent's queue. End to end: gunicorn with two workers
answers order-sign calls while every row is still queued (a 60 s batch window), is stopped with
SIGTERM, and afterwards every issued card and every audit row is in the database, and
`cpt-plugin feedback` reports the feedback per card kind.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from plugin.cli import main
from plugin.storage.sinks import SqliteSink
from plugin.storage.store import Store
from plugin.storage.writer import WINDOW_ENV, WriteBehind
from tools.bench.payloads import SERVICE_ID, order_sign_request


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"select count(*) from {table}").fetchone()[0]


def _card(i: int) -> dict[str, str]:
    return {"uuid": f"card-{i}", "topic": "documentation", "rule_id": "cannulation-note-elements"}


def test_rows_are_queued__then_written__readers_flush_first(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = Store(f"sqlite:///{db}")
    store.writer.window = 0.5  # long enough to see the rows pending
    for i in range(50):
        store.record_cards("svc", f"h{i}", [_card(i)])
        store.add_audit("svc", 200, hook_instance=f"h{i}", rules=["r"], latency_ms=1.0)
    assert _count(db, "issued_cards") < 50 and _count(db, "audit") < 50, "written behind, not inline"
    assert len(store.list_audit()) == 50  # a reader flushes the queue first
    assert _count(db, "issued_cards") == 50
    store.close()


def _call(i: int, *, card_uuid: str | None = None) -> tuple:
    """One queued call as Store.record_call builds it: an audit row and one issued card."""
    return (
        time.time_ns(),
        "svc",
        f"h{i}",
        [(card_uuid or f"u{i}", "documentation", "r")],
        (200, ["r"], 1.0, None, "cds-hook-call"),
    )


def _sink(db: Path) -> SqliteSink:
    return SqliteSink(str(db), f"sqlite:///{db}")


def test_queue_full__caller_writes_its_rows_itself(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = Store(f"sqlite:///{db}")
    writer = WriteBehind(_sink(db), window=1.0, max_calls=2)
    for i in range(10):
        writer.put(_call(i))
    # The background thread holds the first calls for its window; the rest did not fit and were written.
    assert _count(db, "issued_cards") >= 8 and _count(db, "audit") >= 8
    writer.close()
    assert _count(db, "issued_cards") == 10 and _count(db, "audit") == 10
    store.close()


def test_bad_row_in_a_batch__only_itself_lost_and_logged(tmp_path: Path, caplog) -> None:
    db = tmp_path / "s.db"
    store = Store(f"sqlite:///{db}")
    writer = WriteBehind(_sink(db), window=0.2)
    for i, card in enumerate(["u1", "u2", "u1", "u3"]):  # u1 twice: primary key clash
        writer.put(_call(i, card_uuid=card))
    with caplog.at_level(logging.ERROR, logger="plugin.storage.writer"):
        writer.close()
    with sqlite3.connect(db) as conn:
        kept = {r[0] for r in conn.execute("select card_uuid from issued_cards")}
        hooks = sorted(r[0] for r in conn.execute("select hook_instance from audit"))
    assert kept == {"u1", "u2", "u3"}
    assert hooks == ["h0", "h1", "h2", "h3"], "the audit row of the call with the bad card is kept"
    assert [r.getMessage() for r in caplog.records if "could not write" in r.getMessage()] == [
        "could not write a issued_cards row (svc)"
    ]
    store.close()


def test_flush__waits_for_every_call_put_before_it__from_many_threads(tmp_path: Path) -> None:
    """Producers on several threads while another thread flushes: every call put before a flush
    started is in the database when that flush returns, and a long batch window does not delay it."""
    db = tmp_path / "s.db"
    store = Store(f"sqlite:///{db}")
    writer = WriteBehind(_sink(db), window=60.0)
    put: list[int] = []
    lock = threading.Lock()

    def produce(offset: int) -> None:
        for i in range(offset, offset + 300):
            writer.put(_call(i))
            with lock:
                put.append(i)

    threads = [threading.Thread(target=produce, args=(k * 1000,)) for k in range(4)]
    for thread in threads:
        thread.start()
    checks = 0
    while any(t.is_alive() for t in threads) or checks < 3:
        with lock:
            before = set(put)
        started = time.monotonic()
        writer.flush()
        assert time.monotonic() - started < 5.0, "flush waited for the batch window"
        with sqlite3.connect(db) as conn:
            stored = {int(r[0][1:]) for r in conn.execute("select hook_instance from audit")}
        assert before <= stored
        checks += 1
    for thread in threads:
        thread.join()
    writer.close()
    assert _count(db, "audit") == 1200 and _count(db, "issued_cards") == 1200
    store.close()


def test_after_close__puts_write_inline_and_flush_returns(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = Store(f"sqlite:///{db}")
    writer = WriteBehind(_sink(db), window=60.0)
    writer.put(_call(1))
    started = time.monotonic()
    writer.close()  # flushes the queued call first, without waiting for the window
    assert time.monotonic() - started < 5.0
    assert _count(db, "audit") == 1
    writer.put(_call(2))
    assert _count(db, "audit") == 2, "written by the caller once the writer is closed"
    writer.flush()  # returns at once: nothing is queued and no thread is left to wait for
    store.close()


def test_background_thread_gone__puts_and_flush_still_write(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = Store(f"sqlite:///{db}")
    writer = WriteBehind(_sink(db), window=0.0)
    _stop_background_thread(writer)
    writer.put(_call(1))  # the first call of a batch starts its clock
    writer.put(_call(2))  # due (window 0): this put writes the queue
    assert _count(db, "audit") == 2
    writer.put(_call(3))
    writer.flush()
    assert _count(db, "audit") == 3
    writer.close()
    store.close()


class _RecordingSink(SqliteSink):
    """A real SQLite sink that notes which thread wrote each batch, and whether it was let wait."""

    def __init__(self, db: Path) -> None:
        super().__init__(str(db), f"sqlite:///{db}")
        self.batches: list[tuple[str, int, bool]] = []

    def write(self, calls, wait: bool = True) -> bool:  # noqa: ANN001 - the sink's signature
        written = super().write(calls, wait)
        self.batches.append((threading.current_thread().name, len(calls), written))
        return written


def _recording_writer(tmp_path: Path, window: float) -> tuple[Path, Store, _RecordingSink, WriteBehind]:
    """A store's database (schema made), a recording sink on it and a writer with this window."""
    db = tmp_path / "s.db"
    store = Store(f"sqlite:///{db}")
    sink = _RecordingSink(db)
    return db, store, sink, WriteBehind(sink, window=window)


def _stop_background_thread(writer: WriteBehind) -> None:
    """Stop the writer's background thread (as if it had died) while the writer stays open."""
    writer._stop.set()
    writer._wake.set()
    writer._thread.join(timeout=5)
    assert not writer._thread.is_alive()


def test_under_load__the_request_thread_writes_due_batches_itself(tmp_path: Path) -> None:
    db, store, sink, writer = _recording_writer(tmp_path, window=0.02)
    deadline = time.monotonic() + 0.5
    i = 0
    while time.monotonic() < deadline:  # a call every ~1 ms, as a busy worker queues them
        writer.put(_call(i))
        i += 1
        time.sleep(0.001)
    ours = [b for b in sink.batches if b[0] == threading.current_thread().name]
    assert len(ours) >= 5, sink.batches
    assert all(written and size > 1 for _thread, size, written in ours), "batches, not single calls"
    assert len(ours) > len(sink.batches) - len(ours), "the request thread wrote most batches"
    writer.close()
    assert _count(db, "audit") == i
    store.close()


def test_calls_stop__the_background_thread_writes_the_rest(tmp_path: Path) -> None:
    db, store, sink, writer = _recording_writer(tmp_path, window=0.05)
    for i in range(3):
        writer.put(_call(i))
    assert _count(db, "audit") == 0, "not written before the window"
    deadline = time.monotonic() + 10
    while _count(db, "audit") < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _count(db, "audit") == 3
    assert [(name, size) for name, size, _ in sink.batches] == [("cpt-plugin-write-behind", 3)]
    writer.close()
    store.close()


def test_database_locked__the_request_thread_does_not_wait__the_batch_stays_queued(tmp_path: Path) -> None:
    db, store, sink, writer = _recording_writer(tmp_path, window=0.0)
    _stop_background_thread(writer)  # only request threads write here: the thread may wait, they may not
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's transaction holds the write lock
    try:
        started = time.monotonic()
        for i in range(20):
            writer.put(_call(i))
            time.sleep(0.003)  # past the retry pause: later puts try again
        assert time.monotonic() - started < 5.0, "a put waited for the lock (busy timeout is 10 s)"
        assert _count(db, "audit") == 0
        tried = [b for b in sink.batches if b[0] == threading.current_thread().name]
        assert len(tried) >= 2 and not any(written for _, _, written in tried)
    finally:
        other.execute("ROLLBACK")
        other.close()
    writer.put(_call(20))  # the lock is free: this put writes every call still queued
    assert _count(db, "audit") == 21
    with sqlite3.connect(db) as conn:
        order = [r[0] for r in conn.execute("select hook_instance from audit order by id")]
    assert order == [f"h{i}" for i in range(21)], "the batch kept its place, first in line"
    writer.close()
    store.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child__does_not_write_the_parents_queue(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = Store(f"sqlite:///{db}")
    store.writer.window = 0.5
    store.record_cards("svc", "h", [_card(1)])  # queued in the parent
    pid = os.fork()
    if pid == 0:  # the child: its own writer; closing must not write the parent's row a second time
        code = 0
        try:
            store.engine.dispose(close=False)
            assert store.writer.pid == os.getpid()
            store.record_cards("svc", "h", [_card(2)])
            store.close()
        except BaseException:  # noqa: BLE001 - report through the exit code
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    store.flush()
    with sqlite3.connect(db) as conn:
        kept = sorted(r[0] for r in conn.execute("select card_uuid from issued_cards"))
    assert kept == ["card-1", "card-2"]
    store.close()


def test_store_without_write_behind__writes_inline(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = Store(f"sqlite:///{db}", write_behind=False)
    store.record_cards("svc", "h", [_card(1)])
    store.add_audit("svc", 200)
    assert _count(db, "issued_cards") == 1 and _count(db, "audit") == 1
    store.close()


# --------------------------------------------------------------------------------------------------
# End to end: gunicorn, SIGTERM


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_gunicorn_sigterm__every_issued_card_and_audit_row_kept(tmp_path: Path, capsys) -> None:
    db = tmp_path / "feedback.db"
    config = tmp_path / "plugin.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{db}"\n[audit]\nlog = "off"\n')
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, WINDOW_ENV: "60000"}  # every row stays queued until the shutdown flush
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "plugin.cli", "serve", "--config", str(config), "--port", str(port)]
        + ["--workers", "2"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/cds-services", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        body = json.dumps(order_sign_request(1)).encode()

        def call(_i: int) -> list[dict]:
            response = requests.post(
                f"{url}/cds-services/{SERVICE_ID}",
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=10,
            )
            assert response.status_code == 200, response.text[:300]
            return response.json()["cards"]

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(call, range(60)))
        cards = [card for answer in answers for card in answer]
        assert len(cards) >= 60
        # Feedback is acknowledged only when on disk; the cards it is about are still queued.
        feedback = {
            "feedback": [
                {
                    "card": cards[0]["uuid"],
                    "outcome": "overridden",
                    "outcomeTimestamp": "2026-11-25T10:00:00Z",
                }
            ]
        }
        assert requests.post(f"{url}/cds-services/{SERVICE_ID}/feedback", json=feedback, timeout=10).ok
        assert _count(db, "issued_cards") == 0 and _count(db, "audit") == 0, "rows were not queued"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
    with sqlite3.connect(db) as conn:
        stored = {r[0] for r in conn.execute("select card_uuid from issued_cards")}
        calls = conn.execute("select count(*) from audit where event = 'cds-hook-call'").fetchone()[0]
    assert stored == {card["uuid"] for card in cards}
    assert calls == 60
    assert main(["feedback", "--config", str(config), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    topic = cards[0]["source"]["topic"]["code"]
    assert [t["topic"] for t in report["topics"]] == [topic]
    assert report["topics"][0]["overridden"] == 1


def test_sqlite__written_behind_rows_at_normal__feedback_stays_full(tmp_path: Path) -> None:
    """Issued cards and audit rows commit at synchronous=NORMAL (WAL: they survive a kill -9 of the
    process); acknowledged feedback keeps FULL (fsync before the 200)."""
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    sink = store.writer.sink
    assert isinstance(sink, SqliteSink)
    assert sink.connection().execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert sink.connection().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.close()
