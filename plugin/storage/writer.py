"""Write-behind for the rows nobody waits for: issued-card records and audit rows.

Neither row is acknowledged to anyone, so a hook call only appends them to a per-process queue, and
they are written in batches, one transaction per batch (same database; on SQLite through its own
connection at synchronous=NORMAL, see plugin/storage/sinks.py: a written row survives a kill -9 of
the process, an OS crash may lose the last ones).

Who writes a batch:
- Under load, the request thread that queues a call once the oldest queued call is `window` old
  (20 ms): it writes the whole queue, about 20 calls per worker at 1,000 calls a second. It does not
  wait for another process's write lock: when the database is busy it leaves the batch queued, and a
  later call (or the background thread) writes it. Writing on the request thread costs that request
  about a millisecond once per batch. The earlier design, a background thread writing every batch,
  cost every request more: the thread's SQLite calls and the request thread kept handing the GIL to
  each other (about 0.06 ms of CPU per hook call with two workers on two cores, measured).
- When calls stop coming, a background thread writes what is left, `2 x window` after the oldest
  call was queued, waiting for the database as long as it takes (busy timeout 10 s). It waits
  without a timeout while the queue is empty, so an idle worker costs nothing.
- `flush()` (the readers here, shutdown) writes everything queued, on the caller's thread.

What this trades, and what it does not:
- A row is in the database up to about 40 ms after the request (about 20 ms under load), not before
  the response. Readers in the same process (`Store.list_*`, `feedback_summary`) flush first.
- On a normal shutdown nothing is lost: `flush()` runs at interpreter exit (atexit) and from the
  gunicorn `worker_exit` hook (plugin/serving.py), which covers max_requests recycling and SIGTERM.
- A process killed with SIGKILL loses the calls still queued (at most the last ~40 ms).
  Feedback is never queued: `Store.add_feedback` commits (and fsyncs) before the 200.
- When the queue is full (the database stalls), the caller writes its rows itself: slower, never lost.
- A batch that fails (e.g. a duplicate card uuid) is retried row by row, so one bad row costs only
  itself; what cannot be written is logged.

Cost per hook call while no batch is due: a deque append and a clock read.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import time
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


# Once a batch is due, how long a request thread leaves it after finding the database locked.
_RETRY_SECONDS = 0.002
# The background thread sleeps in slices of at most this, so close() is prompt with any window.
_SLICE_SECONDS = 0.05


_live: weakref.WeakSet[WriteBehind] = weakref.WeakSet()


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
    """One writer per process (a forked child starts its own; see `Store.writer`)."""

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
        self._items: collections.deque[Call] = collections.deque()
        # When the oldest call now queued was queued (time.monotonic()); None once a batch is taken.
        self._first_at: float | None = None
        self._retry_at = 0.0
        # Held while a batch is taken and written: one batch at a time, in queue order.
        self._lock = threading.Lock()
        # Set when the first call after a taken batch is queued: the background thread waits for it.
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpt-plugin-write-behind", daemon=True)
        self._thread.start()
        _live.add(self)

    def put(self, call: Call) -> None:
        """Queue one call's rows; write the queue here when its oldest call is due."""
        items = self._items
        if self.closed or len(items) >= self.max_calls:
            self.write([call])
            return
        items.append(call)
        now = time.monotonic()
        first = self._first_at
        if first is None:
            self._first_at = now
            self._wake.set()
        elif now - first >= self.window and now >= self._retry_at:
            self._write_queued(wait=False)

    def flush(self) -> None:
        """Write every call queued so far, on this thread (bounded by the database's busy timeout)."""
        if os.getpid() == self.pid:  # an inherited copy: the parent's rows are the parent's to write
            self._write_queued(wait=True)

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
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
        self._write_queued(wait=True)  # a call put while closing
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
            self._write_batch(calls, wait=True)

    def _run(self) -> None:
        """Write what the request threads leave: the queue, `2 x window` after its oldest call."""
        stop = self._stop
        while not stop.is_set():
            first = self._first_at
            if first is None or not self._items:
                self._wake.wait()
                self._wake.clear()
                continue
            left = first + 2 * self.window - time.monotonic()
            if left > 0:
                sleep_unless(stop, left, _SLICE_SECONDS)
                continue
            try:
                self._write_queued(wait=True)
            except Exception:  # noqa: BLE001 - the thread must outlive any one batch
                log.exception("write-behind batch failed")

    def _write_queued(self, *, wait: bool) -> None:
        """Take everything queued and write it. Without `wait`, give up at once when another thread
        of this process is writing, or when another process holds the database's write lock (the
        batch then stays queued, first in line)."""
        if not self._lock.acquire(blocking=wait):
            return
        try:
            items = self._items
            first = self._first_at
            self._first_at = None  # a call queued from here on starts the next batch's clock
            batch: list[Call] = []
            while True:
                try:
                    batch.append(items.popleft())
                except IndexError:
                    break
            if batch and not self._write_batch(batch, wait=wait):
                items.extendleft(reversed(batch))
                self._first_at = first
                self._retry_at = time.monotonic() + _RETRY_SECONDS
        finally:
            self._lock.release()

    def _write_batch(self, batch: list[Call], *, wait: bool) -> bool:
        try:
            return self.sink.write(batch, wait=wait)
        except Exception:  # noqa: BLE001 - retried row by row below, so one bad row costs only itself
            pass
        self.sink.write_each(batch, self._failed)
        return True

    def _failed(self, table: Table, row: dict[str, Any]) -> None:
        if self._on_error is not None:
            self._on_error(table, row)
        log.exception("could not write a %s row (%s)", table.name, row.get("service_id"))
