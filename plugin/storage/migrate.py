"""Versioned schema: Alembic revisions in plugin/storage/migrations, run by `cpt-plugin db upgrade`.

Why Alembic: it is what a hospital's database administrators already know (`alembic_version` holds
the revision; each revision is a reviewed Python file with its upgrade and downgrade), it emits the
right DDL for SQLite and PostgreSQL from one description, and it runs every revision of an upgrade
in one transaction on PostgreSQL (transactional DDL), so a failed upgrade leaves the old schema.

When the schema changes:
- PostgreSQL (shared by instances): only `cpt-plugin db upgrade` changes it, once per release,
  before the new instances start (docs/deploy.md). An instance does not migrate on start: several
  starting at once must not race, and a schema change is a step an operator decides on. An instance
  that finds the schema behind its code logs it and answers 503 on /readyz until it is upgraded.
- SQLite (one machine, the development and small-site store): brought to the newest revision when the
  store opens. A new file gets the tables from the same metadata and is stamped at the newest revision
  (what Alembic itself recommends for a fresh database, and without importing Alembic: start-up
  stays fast); an older file goes through the revisions.

Two upgrades at once (two instances started by hand, two workers opening one SQLite file) take turns:
a PostgreSQL advisory lock, or an exclusive lock on a file beside the SQLite database.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

from plugin.storage.schema import metadata

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The newest revision in MIGRATIONS_DIR/versions (tests/storage/test_migrations.py checks it).
HEAD = "0002"
# The revision whose tables a database made before versioning holds.
BASELINE = "0001"
VERSION_TABLE = "alembic_version"
_ADVISORY_KEY = 335952  # the CPT code: any constant shared by every instance of this service


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None  # the revision recorded, None for an empty database, "unversioned" for legacy
    head: str = HEAD

    @property
    def ready(self) -> bool:
        return self.current == self.head

    def problem(self) -> str | None:
        if self.ready:
            return None
        if self.current is None:
            return "the database has no tables yet: run `cpt-plugin db upgrade`"
        return (
            f"the database schema is at revision {self.current}, this version needs {self.head}: "
            "run `cpt-plugin db upgrade`"
        )


def current_revision(conn: Connection) -> str | None:
    names = set(inspect(conn).get_table_names())
    if VERSION_TABLE in names:
        row = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).first()
        return str(row[0]) if row else None
    if "feedback" in names:
        return "unversioned"
    return None


def status(engine: Engine) -> SchemaStatus:
    with engine.connect() as conn:
        return SchemaStatus(current_revision(conn))


@contextlib.contextmanager
def _sqlite_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate-lock")
    with lock_path.open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stamp(conn: Connection, revision: str) -> None:
    conn.execute(
        text(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
    )
    conn.execute(text(f"DELETE FROM {VERSION_TABLE}"))
    conn.execute(text(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (:v)"), {"v": revision})


def _alembic_upgrade(conn: Connection, target: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    command.upgrade(config, target)


def upgrade(
    engine: Engine, *, target: str = HEAD, fresh_from_metadata: bool = False
) -> tuple[str | None, str]:
    """Bring the database to `target`; (revision before, revision after).

    `fresh_from_metadata`: an empty database gets the tables from the metadata and is stamped at
    HEAD instead of running every revision (same schema, checked by the tests; no Alembic import)."""
    lock = _sqlite_lock(engine) if engine.dialect.name == "sqlite" else contextlib.nullcontext()
    with lock, engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_KEY})
        before = current_revision(conn)
        if before == target:
            return before, target
        if before is None and fresh_from_metadata and target == HEAD:
            metadata.create_all(conn)
            _stamp(conn, HEAD)
            return before, HEAD
        if before == "unversioned":
            _stamp(conn, BASELINE)  # made before versioning: it holds the baseline's tables
        _alembic_upgrade(conn, target)
        return before, current_revision(conn) or target
