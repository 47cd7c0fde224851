"""Where written-behind calls go: one transaction per batch, or one row at a time after a failure.

A call is queued as one plain tuple (cheap to build on the request thread):
    (at_ns, service_id, hook_instance, cards, audit_fields)
where `cards` is a sequence of (card_uuid, topic, rule_id) and `audit_fields` is None or
(status, rules, latency_ms, issuer, event). The sink turns it into rows only when it writes.

On a SQLite file the rows go through one dedicated sqlite3 connection in multi-row INSERT statements:
the values are built here in exactly the form SQLAlchemy's SQLite types store and read back (DateTime
as "YYYY-MM-DD HH:MM:SS.ffffff" in UTC, JSON as text, None as JSON "null"), so `Store.list_audit`
and `Store.feedback_summary` read them like rows written through SQLAlchemy. Elsewhere (PostgreSQL,
and a Store without write-behind) through SQLAlchemy Core on the Store's engine.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from typing import Any

import orjson
from sqlalchemy import Engine, Table, insert

from plugin.storage.schema import audit, issued_cards

AuditFields = tuple[int, Any, float | None, str | None, str]
Call = tuple[int, str, str | None, Sequence[tuple[str, str, str]], AuditFields | None]
OnError = Callable[[Table, dict[str, Any]], None]

CARD_COLUMNS = ("card_uuid", "service_id", "hook_instance", "topic", "rule_id", "issued_at")
AUDIT_COLUMNS = ("at", "event", "service_id", "hook_instance", "status", "rules", "latency_ms", "issuer")
CARDS_SQL = f"INSERT INTO issued_cards ({', '.join(CARD_COLUMNS)}) VALUES ({', '.join('?' * 6)})"
AUDIT_SQL = f"INSERT INTO audit ({', '.join(AUDIT_COLUMNS)}) VALUES ({', '.join('?' * 8)})"

# The writer's connection (SQLite). A larger page cache, mmap or a larger wal_autocheckpoint did not
# pay with two workers writing one file: each transaction starts with the cache emptied by the other
# worker's commits, and the cost per row is the index page it touches (see plugin/storage/keys.py).
WRITER_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
)
# How long a write that may wait (the background writer, a flush) waits for another connection's
# write lock. A write that may not wait (a request thread's) uses 0 and is retried later.
BUSY_TIMEOUT_MS = 10_000

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Rows per INSERT statement: one multi-row VALUES statement costs ~0.5 us less per row than
# executemany's step-and-reset per row (measured with these tables), and hands the GIL back and forth
# with the request thread once per statement instead of once per row. At most 50 x 8 parameters.
CHUNK_ROWS = 50
_multi_row_sql: dict[tuple[str, int], str] = {}


def _insert(
    conn: sqlite3.Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    for start in range(0, len(rows), CHUNK_ROWS):
        part = rows[start : start + CHUNK_ROWS]
        sql = _multi_row_sql.get((table, len(part)))
        if sql is None:
            one = f"({', '.join('?' * len(columns))})"
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * len(part))}"
            _multi_row_sql[(table, len(part))] = sql
        conn.execute(sql, list(chain.from_iterable(part)))


# Connections opened by a parent process and inherited through fork: kept referenced and never
# closed here (closing a SQLite connection in a child would act on the parent's file locks).
_inherited: list[sqlite3.Connection] = []


def as_datetime(at_ns: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=at_ns // 1000)


class SqliteSink:
    """Rows into one SQLite file through a dedicated connection (synchronous=NORMAL in WAL mode: a
    committed batch is in the WAL file, so it survives a kill -9 of the process)."""

    def __init__(self, path: str, url: str, pragmas: Iterable[str] | None = None) -> None:
        self.path = path
        self.url = url
        self._pragmas = tuple(WRITER_PRAGMAS if pragmas is None else pragmas)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        # (second, "YYYY-MM-DD HH:MM:SS.") of the last timestamp formatted: one tuple, swapped whole.
        self._stamp: tuple[int, str] = (-1, "")
        self._busy_ms = -1  # the connection's busy_timeout, set when it changes

    def connection(self) -> sqlite3.Connection:
        conn = self._conn
        if conn is None:
            # Autocommit mode: transactions are the explicit BEGIN IMMEDIATE .. COMMIT below.
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                cached_statements=4 * CHUNK_ROWS,
            )
            for pragma in self._pragmas:
                conn.execute(pragma)
            self._conn = conn
            self._busy_ms = -1
        return conn

    def _wait_for_lock(self, conn: sqlite3.Connection, wait: bool) -> None:
        wanted = BUSY_TIMEOUT_MS if wait else 0
        if self._busy_ms != wanted:
            conn.execute(f"PRAGMA busy_timeout={wanted}")
            self._busy_ms = wanted

    def _timestamp(self, at_ns: int) -> str:
        second, rest = divmod(at_ns, 1_000_000_000)
        stamp = self._stamp
        if stamp[0] != second:
            stamp = self._stamp = (second, time.strftime("%Y-%m-%d %H:%M:%S.", time.gmtime(second)))
        return f"{stamp[1]}{rest // 1000:06d}"

    def rows(self, calls: Iterable[Call]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        cards: list[tuple[Any, ...]] = []
        audits: list[tuple[Any, ...]] = []
        stamp = self._timestamp
        dumps = orjson.dumps
        for at_ns, service_id, hook_instance, issued, fields in calls:
            at = stamp(at_ns)
            for card_uuid, topic, rule_id in issued:
                cards.append((card_uuid, service_id, hook_instance, topic, rule_id, at))
            if fields is not None:
                status, rules, latency_ms, issuer, event = fields
                rules_text = "null" if rules is None else dumps(rules).decode()
                audits.append((at, event, service_id, hook_instance, status, rules_text, latency_ms, issuer))
        return cards, audits

    def write(self, calls: Sequence[Call], wait: bool = True) -> bool:
        """All rows of `calls` in one transaction (all or nothing). With `wait` false, nothing is
        written and False returned when another connection holds the write lock right now."""
        cards, audits = self.rows(calls)
        with self._lock:
            conn = self.connection()
            self._wait_for_lock(conn, wait)
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if not wait and exc.sqlite_errorcode == sqlite3.SQLITE_BUSY:
                    return False
                raise
            try:
                if cards:
                    _insert(conn, "issued_cards", CARD_COLUMNS, cards)
                if audits:
                    _insert(conn, "audit", AUDIT_COLUMNS, audits)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return True

    def write_each(self, calls: Sequence[Call], failed: OnError) -> None:
        """Every row in its own transaction; a row that cannot be written goes to `failed`."""
        cards, audits = self.rows(calls)
        with self._lock:
            conn = self.connection()
            self._wait_for_lock(conn, True)
            for table, sql, columns, rows in (
                (issued_cards, CARDS_SQL, CARD_COLUMNS, cards),
                (audit, AUDIT_SQL, AUDIT_COLUMNS, audits),
            ):
                for row in rows:
                    try:
                        conn.execute(sql, row)
                    except Exception:  # noqa: BLE001 - handed to `failed`, which logs it
                        failed(table, dict(zip(columns, row, strict=True)))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def abandon(self) -> None:
        """This object was inherited through fork: forget the connection without closing it."""
        if self._conn is not None:
            _inherited.append(self._conn)
            self._conn = None


class CoreSink:
    """Rows through SQLAlchemy Core on an engine (PostgreSQL; SQLite when written inline)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.url = str(engine.url)

    @staticmethod
    def rows(calls: Iterable[Call]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        cards: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        for at_ns, service_id, hook_instance, issued, fields in calls:
            at = as_datetime(at_ns)
            cards.extend(
                {
                    "card_uuid": card_uuid,
                    "service_id": service_id,
                    "hook_instance": hook_instance,
                    "topic": topic,
                    "rule_id": rule_id,
                    "issued_at": at,
                }
                for card_uuid, topic, rule_id in issued
            )
            if fields is not None:
                status, rules, latency_ms, issuer, event = fields
                audits.append(
                    {
                        "at": at,
                        "event": event,
                        "service_id": service_id,
                        "hook_instance": hook_instance,
                        "status": status,
                        "rules": rules,
                        "latency_ms": latency_ms,
                        "issuer": issuer,
                    }
                )
        return cards, audits

    def write(self, calls: Sequence[Call], wait: bool = True) -> bool:
        """All rows of `calls` in one transaction. Inserts of new rows take no lock another writer
        holds (PostgreSQL's row locks), so `wait` changes nothing here."""
        cards, audits = self.rows(calls)
        with self.engine.begin() as conn:
            if cards:
                conn.execute(insert(issued_cards), cards)
            if audits:
                conn.execute(insert(audit), audits)
        return True

    def write_each(self, calls: Sequence[Call], failed: OnError) -> None:
        cards, audits = self.rows(calls)
        for table, rows in ((issued_cards, cards), (audit, audits)):
            for row in rows:
                try:
                    with self.engine.begin() as conn:
                        conn.execute(insert(table), row)
                except Exception:  # noqa: BLE001 - handed to `failed`, which logs it
                    failed(table, row)

    def close(self) -> None:
        """The engine belongs to the Store, which disposes of it."""

    def abandon(self) -> None:
        """Nothing of ours to forget: the Store's engine handles a fork (see plugin/storage/__init__)."""


Sink = SqliteSink | CoreSink
