"""A throw-away PostgreSQL cluster for the storage tests, started once per session and stopped after
(tools/bench/postgres.py: initdb and pg_ctl from the Debian `postgresql` package, on loopback, fsync
off). Without the binaries the PostgreSQL tests fail, saying what to install.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.bench.postgres import INSTALL_HINT, PostgresCluster, find_pg_bin

__all__ = ["PostgresCluster", "postgres_cluster", "postgres_url", "store_url"]


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    cluster = PostgresCluster(bin_dir)
    try:
        cluster.start()
    except Exception:
        cluster.stop()
        raise
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """A fresh database on the session's cluster, at the newest schema revision."""
    return postgres_cluster.create_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same storage contract, run on a real SQLite file and on a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'feedback.db'}"
    return request.getfixturevalue("postgres_url")
