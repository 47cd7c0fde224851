"""A throw-away PostgreSQL cluster on loopback: the storage tests, the scale-out test and the
scale-out benchmark start one from the Debian `postgresql` package's binaries (initdb, pg_ctl).

It runs as the `postgres` user when started by root (PostgreSQL refuses to run as root), on a free
loopback port, with its socket and data in a fresh temporary directory and trust authentication on
127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

PG_ROOT = Path("/usr/lib/postgresql")
INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql/*/bin or on PATH; "
    "install the Debian package: apt-get install -y --no-install-recommends postgresql"
)


def find_pg_bin() -> Path | None:
    candidates = sorted(
        PG_ROOT.glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0
    )
    for directory in reversed(candidates):
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *args]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(f"'{a}'" for a in args)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresCluster:
    """initdb + pg_ctl start in a fresh temporary folder; `stop` removes it all.

    `fsync=False` (the tests): the durability under test is the app's, not the database server's.
    The benchmark keeps fsync on, as a hospital's server has it."""

    def __init__(self, bin_dir: Path, *, fsync: bool = False) -> None:
        self.bin = bin_dir
        self.fsync = fsync
        self.root = Path(tempfile.mkdtemp(prefix="cpt-plugin-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.port = 0
        self.data.mkdir()
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.data, "postgres", "postgres")
            shutil.chown(self.socket_dir, "postgres", "postgres")

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            _as_postgres(list(args)), capture_output=True, text=True, timeout=60, check=False
        )

    def start(self) -> None:
        done = self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")
        for _attempt in range(5):
            self.port = _free_port()
            options = (
                f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c max_connections=200 "
                + ("" if self.fsync else "-c fsync=off -c full_page_writes=off")
            )
            done = self._run(
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-t",
                "30",
                "-o",
                options,
                "start",
            )
            if done.returncode == 0:
                return
        log = (self.root / "server.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"pg_ctl start failed: {done.stderr or done.stdout}\n{log}")

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_empty_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def create_database(self) -> str:
        """A fresh database with the newest schema, made as an operator makes it: `cpt-plugin db upgrade`."""
        from plugin.storage.migrate import upgrade
        from plugin.storage.store import engine_for

        url = self.create_empty_database()
        engine = engine_for(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        return url


def start_cluster(*, fsync: bool = False) -> PostgresCluster:
    """A started cluster, or RuntimeError naming what to install."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise RuntimeError(INSTALL_HINT)
    cluster = PostgresCluster(bin_dir, fsync=fsync)
    try:
        cluster.start()
    except Exception:
        cluster.stop()
        raise
    return cluster
