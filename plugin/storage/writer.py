"""Write-behind for the rows nobody waits for: issued-card records and audit rows.

A hook call used to commit twice (its issued cards, then its audit row), each commit an fsync of the
SQLite WAL at `synchronous=FULL` while the other workers queued on the write lock: half of a worker's
time under load. Neither row is acknowledged to anyone, so they go through a per-process queue
instead: a background thread waits up to 20 ms for more rows, then writes everything queued in one
transaction (same database; on SQLite at synchronous=NORMAL, see Store._behind_engine: a written
row survives a kill -9 of the process, an OS crash may lose the last ones).

What this trades, and what it does not:
- A row is in the database up to about 20 ms after the request, not before the response. Readers
  in the same process (`Store.list_*`, `feedback_summary`) flush first, so they see every row.
- On a normal shutdown nothing is lost: `flush()` runs at interpreter exit (atexit) and from the
  gunicorn `worker_exit` hook (plugin/serving.py), which covers max_requests recycling and SIGTERM.
- A process killed with SIGKILL loses the rows still queued (at most the last ~20 ms).
  Feedback is never queued: `Store.add_feedback` commits (and fsyncs) before the 200, as before.
- When the queue is full (the database stalls), the caller writes its rows itself: slower, never lost.
- A batch that fails (e.g. a duplicate card uuid) is retried row by row, so one bad row costs only
  itself; what cannot be written is logged, as the synchronous writes logged it before.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, Table, insert

log = logging.getLogger(__name__)

Row = tuple[Table, dict[str, Any]]

# How long the writer waits after the first queued row for more to join its transaction
# (CPT_PLUGIN_WRITE_BEHIND_MS overrides it; the shutdown tests use a long window so rows are pending).
WINDOW_ENV = "CPT_PLUGIN_WRITE_BEHIND_MS"
# SQLite costs ~230 us per transaction and ~6 us per row (measured): at 20 ms a worker under load
# writes 15-20 hook calls' rows per transaction, 25-30 us of CPU per call instead of ~270 us.
BATCH_WINDOW_SECONDS = 0.02


def _window_from_env() -> float:
    text = os.environ.get(WINDOW_ENV, "").strip()
    try:
        return max(0.0, float(text) / 1000.0) if text else BATCH_WINDOW_SECONDS
    except ValueError:
        log.warning(
            "%s=%r is not a number of milliseconds; using %g ms",
            WINDOW_ENV,
            text,
            1000 * BATCH_WINDOW_SECONDS,
        )
        return BATCH_WINDOW_SECONDS


MAX_QUEUED_ROWS = 10_000

_live: weakref.WeakSet[WriteBehind] = weakref.WeakSet()


def _flush_all_at_exit() -> None:
    for writer in list(_live):
        writer.close()


atexit.register(_flush_all_at_exit)


def flush_writers_of(url: str) -> None:
    """Flush every writer of this process that writes to the database at `url` (any Store on it)."""
    for writer in list(_live):
        if writer.pid == os.getpid() and not writer._closed and str(writer.engine.url) == url:
            writer.flush()


class WriteBehind:
    """One background writer per process (a forked child starts its own; see `Store.writer`)."""

    def __init__(
        self,
        engine: Engine,
        *,
        window: float | None = None,
        max_rows: int = MAX_QUEUED_ROWS,
        on_error: Callable[[Table, dict[str, Any]], None] | None = None,
        owns_engine: bool = False,
    ) -> None:
        self.engine = engine
        self._owns_engine = owns_engine
        self.window = _window_from_env() if window is None else window
        self.pid = os.getpid()
        self._queue: queue.Queue[Row | None] = queue.Queue(maxsize=max_rows)
        self._on_error = on_error
        self._closed = False
        self._statements: dict[tuple[Table, tuple[str, ...]], tuple[str, list[Any]]] = {}
        # Set while someone waits in flush(): the writer then skips its batch window.
        self._hurry = threading.Event()
        self._flushers = 0
        self._flush_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="cpt-plugin-write-behind", daemon=True)
        self._thread.start()
        _live.add(self)

    def put(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Queue rows for `table`; written by the background thread, or here when the queue is full."""
        if self._closed:
            self.write(table, rows)
            return
        for index, row in enumerate(rows):
            try:
                self._queue.put_nowait((table, row))
            except queue.Full:
                self.write(table, rows[index:])
                return

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until every row queued so far is written (or given up on and logged)."""
        if not self._thread.is_alive():
            self._drain_here()
            return True
        with self._flush_lock:
            self._flushers += 1
            self._hurry.set()
        try:
            done = threading.Event()
            waiter = threading.Thread(target=lambda: (self._queue.join(), done.set()), daemon=True)
            waiter.start()
            return done.wait(timeout)
        finally:
            with self._flush_lock:
                self._flushers -= 1
                if not self._flushers:
                    self._hurry.clear()

    def close(self) -> None:
        """Flush, then stop the thread; later puts write synchronously."""
        if self._closed:
            return
        if os.getpid() != self.pid:
            self._closed = True  # an inherited copy: the parent writes its own rows
            return
        self.flush()
        self._closed = True
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=5.0)
        self._drain_here()
        if self._owns_engine:
            self.engine.dispose()

    # ----------------------------------------------------------------------------------------------

    def write(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Write `rows` in one transaction now (the caller's thread)."""
        if rows:
            self._write_batch([(table, row) for row in rows])

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                self._queue.task_done()
                return
            self._hurry.wait(self.window)  # let the rows of the requests in flight join this transaction
            batch: list[Row] = [first]
            stop = False
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            try:
                self._write_batch(batch)
            finally:
                for _ in range(len(batch) + stop):
                    self._queue.task_done()
            if stop:
                return

    def _drain_here(self) -> None:
        batch: list[Row] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            self._queue.task_done()
            if item is not None:
                batch.append(item)
        if batch:
            self._write_batch(batch)

    def _write_batch(self, batch: list[Row]) -> None:
        by_table: dict[Table, list[dict[str, Any]]] = {}
        for table, row in batch:
            by_table.setdefault(table, []).append(row)
        try:
            self._insert_many(by_table)
            return
        except Exception:  # noqa: BLE001 - retried row by row below, so one bad row costs only itself
            if len(batch) == 1:
                self._failed(*batch[0])
                return
        for table, row in batch:
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(table), row)
            except Exception:  # noqa: BLE001 - logged; the request this row belongs to was answered
                self._failed(table, row)

    def _insert_many(self, by_table: dict[Table, list[dict[str, Any]]]) -> None:
        """One transaction for the batch. On SQLite through the DBAPI cursor's executemany with
        SQLAlchemy's own statement text and value conversions (so rows read back the same): the ORM
        layer cost more per batch than SQLite itself. Other backends through SQLAlchemy Core."""
        if self.engine.dialect.name != "sqlite":
            with self.engine.begin() as conn:
                for table, rows in by_table.items():
                    conn.execute(insert(table), rows)
            return
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                for table, rows in by_table.items():
                    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
                    for row in rows:
                        groups.setdefault(tuple(row), []).append(row)
                    for keys, same in groups.items():
                        sql, converters = self._statement(table, keys)
                        cursor.executemany(
                            sql,
                            [
                                tuple(
                                    row[k] if c is None else c(row[k])
                                    for k, c in zip(keys, converters, strict=True)
                                )
                                for row in same
                            ],
                        )
                raw.commit()
            except BaseException:
                raw.rollback()
                raise
            finally:
                cursor.close()
        finally:
            raw.close()  # back to the pool

    def _statement(self, table: Table, keys: tuple[str, ...]) -> tuple[str, list[Any]]:
        found = self._statements.get((table, keys))
        if found is None:
            dialect = self.engine.dialect
            sql = str(insert(table).compile(dialect=dialect, column_keys=list(keys)))
            converters = [table.c[k].type.dialect_impl(dialect).bind_processor(dialect) for k in keys]
            found = self._statements[(table, keys)] = (sql, converters)
        return found

    def _failed(self, table: Table, row: dict[str, Any]) -> None:
        if self._on_error is not None:
            self._on_error(table, row)
        log.exception("could not write a %s row (%s)", table.name, row.get("service_id"))
