"""The JWT replay ledger: one row per accepted (`iss`, `jti`), shared by every worker and instance.

A replay must be refused wherever it arrives, so the claim is a single atomic statement on the
shared database (INSERT .. ON CONFLICT .. RETURNING: the second of two concurrent claims gets no
row back, whichever worker or instance it reached). What a claim does not need is an fsync of its
own before the token is accepted:

- SQLite (one machine): a dedicated connection in WAL mode at `synchronous=NORMAL`. A committed
  claim is in the WAL file when the statement returns, so every other process sees it at once and
  it survives a kill -9 of ours; only an OS crash or power cut can lose the claims since the WAL was
  last synced (the next checkpoint, or the next feedback commit, which runs at FULL).
- PostgreSQL (several instances): a dedicated connection with `synchronous_commit = off`. The
  claim is visible to every other session as soon as it returns; the server flushes its WAL within
  3 x `wal_writer_delay` (600 ms by default), so only a crash of the database server can lose the
  claims of that last fraction of a second. A crash of an app instance loses nothing.

What a lost claim allows is bounded: a token whose claim was lost was accepted before the crash and
could be accepted once more until its `exp` (at most `security.max_token_lifetime_seconds` plus the
clock skew after it was issued; CDS Hooks clients use minutes). docs/security.md states the window.

One connection per process (a forked child opens its own), used under a lock: a claim is one short
statement, so gunicorn's sync workers never wait on each other here, and threads of the development
server take turns. Saves, per request, the fsync and SQLAlchemy's statement building (about 1 ms of
CPU together on the benchmark machine).

On SQLite a claim waits on the request path, so two things that would make it wait long are kept
off it: (1) SQLite's own busy handler sleeps 1, 2, 5, 10 ... ms between tries, so a claim that meets
another process's write-behind transaction (a millisecond or two) would sleep several ms; the claim
retries every 0.2 ms instead (`_BUSY_RETRY_SECONDS`, up to `_BUSY_LIMIT_SECONDS`). (2) The connection
that commits past the WAL's checkpoint threshold runs the checkpoint, fsyncs included; the claim
connection's threshold is set far above the write-behind connection's (SQLite's default 1,000
pages), so checkpoints run in the background writer, and the claim connection checkpoints only as a
backstop when nothing else writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
import time
from typing import Any

from sqlalchemy.engine import URL

log = logging.getLogger(__name__)

# Expired claims are swept at most this often per process (they are kept only until `exp`).
PURGE_INTERVAL_SECONDS = 60.0
# SQLite: how a claim waits for another writer (see the module docstring), and the WAL size in pages
# at which the claim connection checkpoints (a backstop: the write-behind connection does it at 1,000).
_BUSY_RETRY_SECONDS = 0.0002
_BUSY_LIMIT_SECONDS = 10.0
_CLAIM_CHECKPOINT_PAGES = 20_000

_CLAIM_SQL = (
    "INSERT INTO jwt_replay (token_key, expires_at) VALUES ({p}, {p}) "
    "ON CONFLICT (token_key) DO UPDATE SET expires_at = excluded.expires_at "
    # An expired entry may be taken over; a live one makes this a no-op (no row returned).
    "WHERE jwt_replay.expires_at < {p} RETURNING token_key"
)
_PURGE_SQL = "DELETE FROM jwt_replay WHERE expires_at < {p}"


class ReplayStoreError(RuntimeError):
    """The replay ledger could not answer: the token must not be accepted."""


def token_key(issuer: str, jti: str) -> str:
    """The row key: a digest, since a jti may be any string of any length."""
    return hashlib.sha256(f"{issuer}\x00{jti}".encode()).hexdigest()


def _libpq_conninfo(url: URL) -> str:
    plain = url.set(drivername="postgresql")
    return plain.render_as_string(hide_password=False)


class ReplayLedger:
    """claim(issuer, jti, expires_at) -> True the first time, False for a live replay."""

    def __init__(self, url: URL) -> None:
        self.url = url
        self.backend = url.get_backend_name()
        self._conn: Any = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._last_purge = 0.0
        param = "?" if self.backend == "sqlite" else "%s"
        self._claim_sql = _CLAIM_SQL.format(p=param)
        self._purge_sql = _PURGE_SQL.format(p=param)

    # ----------------------------------------------------------------------------------------------

    def _connect(self) -> Any:
        if self.backend == "sqlite":
            conn = sqlite3.connect(
                self.url.database or ":memory:", isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=0")  # waits are retried in _run_sqlite, finer grained
            conn.execute(f"PRAGMA wal_autocheckpoint={_CLAIM_CHECKPOINT_PAGES}")
            return conn
        import psycopg

        # Autocommit: each claim is its own transaction, committed without waiting for the WAL flush.
        # A SET after connecting rather than a startup option: connection poolers in session mode
        # (PgBouncer) refuse unknown startup parameters.
        conn = psycopg.connect(_libpq_conninfo(self.url), autocommit=True, connect_timeout=10)
        conn.execute("SET synchronous_commit TO off")
        return conn

    def _connection(self) -> Any:
        if self._pid != os.getpid():
            # Inherited through fork: the parent's connection is the parent's; never close it here.
            self._conn = None
            self._pid = os.getpid()
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # A broken connection may fail to close; it is gone anyway.
            with contextlib.suppress(Exception):
                conn.close()

    def _execute(self, sql: str, params: tuple[Any, ...], fetch: bool) -> Any:
        """Run one statement; a broken connection is reopened once (a database restart, a failover)."""
        for attempt in (1, 2):
            try:
                conn = self._connection()
                if self.backend == "sqlite":
                    return _run_sqlite(conn, sql, params, fetch)
                cursor = conn.execute(sql, params)
                return cursor.fetchall() if fetch else cursor.rowcount
            except Exception as exc:
                self._drop()
                if attempt == 2 or not _is_connection_problem(exc):
                    raise ReplayStoreError(f"replay ledger: {type(exc).__name__}: {exc}") from exc
        raise AssertionError("unreachable")

    # ----------------------------------------------------------------------------------------------

    def claim(self, issuer: str, jti: str, expires_at: int) -> bool:
        now = int(time.time())
        with self._lock:
            row = self._execute(self._claim_sql, (token_key(issuer, jti), int(expires_at), now), True)
            if now - self._last_purge >= PURGE_INTERVAL_SECONDS:
                self._last_purge = now
                try:
                    self._execute(self._purge_sql, (now,), False)
                except ReplayStoreError:
                    log.warning("could not purge expired JWT replay entries", exc_info=True)
        return bool(row)

    def purge_expired(self, now: int | None = None) -> int:
        with self._lock:
            return int(self._execute(self._purge_sql, (int(time.time()) if now is None else now,), False))

    def close(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                self._drop()
            self._conn = None


def _run_sqlite(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...], fetch: bool) -> Any:
    """One autocommit statement, retried every 0.2 ms while another connection holds the write lock."""
    deadline = 0.0
    while True:
        try:
            cursor = conn.execute(sql, params)
            # fetchall: SQLite commits an autocommit statement once it has run to its end.
            return cursor.fetchall() if fetch else cursor.rowcount
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if conn.in_transaction:  # a statement that failed half-way: nothing of it stays
                conn.execute("ROLLBACK")
            now = time.monotonic()
            if not deadline:
                deadline = now + _BUSY_LIMIT_SECONDS
            elif now >= deadline:
                raise
            time.sleep(_BUSY_RETRY_SECONDS)


def _is_connection_problem(exc: Exception) -> bool:
    if isinstance(exc, sqlite3.Error):
        return False  # a local file: retrying would not help (_run_sqlite already waited)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - only reached on PostgreSQL, where psycopg is installed
        return False
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
