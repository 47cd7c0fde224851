"""The versioned schema: the Alembic revisions end at the revision the code names, build exactly the
tables the code describes (SQLite and PostgreSQL), adopt a database made before versioning, and a
PostgreSQL store is migrated by `cpt-plugin db upgrade`, never by a starting server."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from plugin.app import create_app
from plugin.cli import main
from plugin.storage.migrate import BASELINE, HEAD, MIGRATIONS_DIR, status, upgrade
from plugin.storage.schema import metadata
from plugin.storage.store import Store, engine_for


def _drift(url: str) -> list:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()


def test_revisions_end_at_the_revision_the_code_needs() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_every_revision_from_empty__the_schema_the_code_describes(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.db'}"
    else:
        url = request.getfixturevalue("postgres_cluster").create_empty_database()
    engine = engine_for(url)
    assert upgrade(engine) == (None, HEAD)  # through Alembic, revision by revision
    assert upgrade(engine) == (HEAD, HEAD)  # a second run changes nothing
    engine.dispose()
    assert _drift(url) == []


def test_fresh_sqlite_file__created_from_metadata_and_stamped__same_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    Store(url).close()
    assert _drift(url) == []
    engine = engine_for(url)
    assert status(engine).ready
    engine.dispose()


def test_database_made_before_versioning__adopted_and_upgraded_keeping_rows(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    engine = engine_for(f"sqlite:///{db}")
    upgrade(engine, target=BASELINE)
    engine.dispose()
    with sqlite3.connect(db) as conn:  # what an unversioned database looks like: no alembic_version
        conn.execute("DROP TABLE alembic_version")
        conn.execute(
            "INSERT INTO feedback (service_id, card_uuid, outcome, outcome_timestamp, received_at) "
            "VALUES ('svc', 'c1', 'accepted', '2026-01-01T00:00:00Z', '2026-01-01 00:00:00.000000')"
        )
    engine = engine_for(f"sqlite:///{db}")
    assert status(engine).current == "unversioned"
    assert upgrade(engine) == ("unversioned", HEAD)
    engine.dispose()
    assert _drift(f"sqlite:///{db}") == []
    store = Store(f"sqlite:///{db}")
    assert [r["card_uuid"] for r in store.list_feedback()] == ["c1"]
    store.close()


@pytest.mark.postgres
def test_postgresql__not_migrated_by_a_starting_server__ready_after_db_upgrade(
    postgres_cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = postgres_cluster.create_empty_database()
    app = create_app({"storage": {"url": url}, "security": {"require_jwt": False, "issuers": []}})
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    answer = client.get("/readyz")
    assert answer.status_code == 503 and "cpt-plugin db upgrade" in answer.get_json()["problem"]
    engine = engine_for(url)
    assert status(engine).current is None, "a starting server created tables"

    assert main(["db", "current", "--url", url]) == 1
    assert main(["db", "upgrade", "--url", url]) == 0
    assert f"-> {HEAD}" in capsys.readouterr().out
    assert main(["db", "current", "--url", url]) == 0
    assert status(engine).ready
    engine.dispose()
    answer = client.get("/readyz")
    assert answer.status_code == 200 and answer.get_json() == {"status": "ready"}
    app.extensions["store"].close()


def test_sqlite_app__healthy_and_ready(client) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ready"}
