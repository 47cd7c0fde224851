"""Write-behind for the rows nobody waits for: issued-card records and audit rows.

A hook call used to commit twice (its issued cards, then its audit row), each commit an fsync of the
SQLite WAL at `synchronous=FULL` while the other workers queued on the write lock: half of a worker's
time under load. Neither row is acknowledged to anyone, so they go through a per-process queue
instead: a background thread waits up to 20 ms for more calls, then writes everything queued in one
transaction (same database; on SQLite through its own connection at synchronous=NORMAL, see
plugin/storage/sinks.py: a written row survives a kill -9 of the process, an OS crash may lose the
last ones).

What this trades, and what it does not:
- A row is in the database up to about 20 ms after the request, not before the response. Readers
  in the same process (`Store.list_*`, `feedback_summary`) flush first, so they see every row.
- On a normal shutdown nothing is lost: `flush()` runs at interpreter exit (atexit) and from the
  gunicorn `worker_exit` hook (plugin/serving.py), which covers max_requests recycling and SIGTERM.
- A process killed with SIGKILL loses the calls still queued (at most the last ~20 ms).
  Feedback is never queued: `Store.add_feedback` commits (and fsyncs) before the 200, as before.
- When the queue is full (the database stalls), the caller writes its rows itself: slower, never lost.
- A batch that fails (e.g. a duplicate card uuid) is retried row by row, so one bad row costs only
  itself; what cannot be written is logged, as the synchronous writes logged it before.

Cost: one queue item per hook call (a plain tuple; its rows are built by the writer thread), a
deque append, and an Event.set only when the writer is idle. A flush appends a marker Event behind
the calls queued so far; the writer sets it once the batch holding them is committed.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import weakref
from typing import Any

from sqlalchemy import Table

from plugin.storage.sinks import Call, Sink
from plugin.storage.waits import sleep_unless

log = logging.getLogger(__name__)

# How long the writer waits after the first queued call for more to join its transaction
# (CPT_PLUGIN_WRITE_BEHIND_MS overrides it; the shutdown tests use a long window so rows are pending).
WINDOW_ENV = "CPT_PLUGIN_WRITE_BEHIND_MS"
# A SQLite transaction costs ~230 us of CPU however few rows it holds: at 20 ms a worker under load
# commits 15-20 hook calls' rows at once.
BATCH_WINDOW_SECONDS = 0.02
# Calls held before a caller writes its own rows (the database has stalled).
MAX_QUEUED_CALLS = 5_000


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


# How often a sleeping writer looks whether a flush is waiting (see plugin/storage/waits.py).
_SLICE_SECONDS = 0.005


_live: weakref.WeakSet[WriteBehind] = weakref.WeakSet()
_STOP = object()


def _flush_all_at_exit() -> None:
    for writer in list(_live):
        writer.close()


atexit.register(_flush_all_at_exit)


def flush_writers_of(url: str) -> None:
    """Flush every writer of this process that writes to the database at `url` (any Store on it)."""
    for writer in list(_live):
        if writer.pid == os.getpid() and not writer.closed and writer.url == url:
            writer.flush()


class WriteBehind:
    """One background writer per process (a forked child starts its own; see `Store.writer`)."""

    def __init__(
        self,
        sink: Sink,
        *,
        window: float | None = None,
        max_calls: int = MAX_QUEUED_CALLS,
        on_error: Any = None,
        owns_sink: bool = True,
    ) -> None:
        self.sink = sink
        self.url = sink.url
        self.window = _window_from_env() if window is None else window
        self.pid = os.getpid()
        self.max_calls = max_calls
        self.closed = False
        self._owns_sink = owns_sink
        self._on_error = on_error
        self._items: collections.deque[Any] = collections.deque()
        # Set when something is queued and the writer may be asleep; cleared by the writer.
        self._wake = threading.Event()
        # Set while someone waits in flush() or close(): the writer then skips its batch window.
        self._hurry = threading.Event()
        self._flushers = 0
        self._flush_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="cpt-plugin-write-behind", daemon=True)
        self._thread.start()
        _live.add(self)

    def put(self, call: Call) -> None:
        """Queue one call's rows; written by the background thread, or here when the queue is full."""
        items = self._items
        if self.closed or len(items) >= self.max_calls:
            self.write([call])
            return
        items.append(call)
        # The writer clears `_wake` before it drains, so a call appended after its drain finds the
        # flag clear and sets it: nothing is left behind, and a busy writer is not signalled again.
        if not self._wake.is_set():
            self._wake.set()
        if self.closed:  # closed between the check above and the append: write it here
            self._drain_here()

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until every call queued so far is written (or given up on and logged)."""
        if os.getpid() != self.pid:
            return True  # an inherited copy: the parent's rows are the parent's to write
        if not self._thread.is_alive():
            self._drain_here()
            return True
        with self._flush_lock:
            self._flushers += 1
            self._hurry.set()
        try:
            marker = threading.Event()
            self._items.append(marker)
            self._wake.set()
            waited = 0.0
            while not sleep_unless(marker, 0.05, _SLICE_SECONDS):
                waited += 0.05
                if not self._thread.is_alive():  # stopped meanwhile: what is left is written here
                    self._drain_here()
                    return True
                if timeout is not None and waited >= timeout:
                    return False
            return True
        finally:
            with self._flush_lock:
                self._flushers -= 1
                if not self._flushers and not self.closed:
                    self._hurry.clear()

    def close(self) -> None:
        """Flush, then stop the thread; later puts write synchronously."""
        if self.closed:
            return
        if os.getpid() != self.pid:
            self.closed = True  # an inherited copy: the parent writes its own rows
            self.sink.abandon()
            return
        self.flush()
        self.closed = True
        self._hurry.set()
        if self._thread.is_alive():
            self._items.append(_STOP)
            self._wake.set()
            self._thread.join(timeout=5.0)
        self._drain_here()
        if self._owns_sink:
            self.sink.close()

    def abandon(self) -> None:
        """Called in a forked child on the parent's writer: never write, flush or close its rows."""
        self.closed = True
        self.sink.abandon()

    # ----------------------------------------------------------------------------------------------

    def write(self, calls: list[Call]) -> None:
        """Write `calls` in one transaction now (the caller's thread)."""
        if calls:
            self._write_batch(calls)

    def _run(self) -> None:
        wake = self._wake
        hurry = self._hurry
        while True:
            wake.wait()
            if not hurry.is_set():
                # Let the calls of the requests in flight join this batch.
                sleep_unless(hurry, self.window, _SLICE_SECONDS)
            wake.clear()
            batch, markers, stop = self._take_all()
            if batch:
                try:
                    self._write_batch(batch)
                except Exception:  # noqa: BLE001 - the thread must outlive any one batch
                    log.exception("write-behind batch of %d calls failed", len(batch))
            for marker in markers:
                marker.set()
            if stop:
                return

    def _take_all(self) -> tuple[list[Call], list[threading.Event], bool]:
        """Everything queued so far: the calls, the flush markers, and whether a stop was queued."""
        batch: list[Call] = []
        markers: list[threading.Event] = []
        stop = False
        items = self._items
        while True:
            try:
                item = items.popleft()
            except IndexError:
                return batch, markers, stop
            if type(item) is tuple:
                batch.append(item)
            elif item is _STOP:
                stop = True
            else:
                markers.append(item)

    def _drain_here(self) -> None:
        batch, markers, _stop = self._take_all()
        if batch:
            self._write_batch(batch)
        for marker in markers:
            marker.set()

    def _write_batch(self, batch: list[Call]) -> None:
        try:
            self.sink.write(batch)
            return
        except Exception:  # noqa: BLE001 - retried row by row below, so one bad row costs only itself
            pass
        self.sink.write_each(batch, self._failed)

    def _failed(self, table: Table, row: dict[str, Any]) -> None:
        if self._on_error is not None:
            self._on_error(table, row)
        log.exception("could not write a %s row (%s)", table.name, row.get("service_id"))
