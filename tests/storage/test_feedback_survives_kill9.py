"""Feedback answered 200 is on disk: kill -9 the server in the middle of a burst of feedback posts,
restart it on the same store, and every acknowledged item is there (SQLite file and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from plugin.storage.store import Store

SERVICE = "ecmo-cannulation-order-select"
WRITERS = 8
KILL_AFTER_ACKS = 150


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`cpt-plugin serve --config FILE` in its own process group, as an operator would run it."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "plugin.cli",
                    "serve",
                    "--config",
                    str(self.config),
                    "--port",
                    str(self.port),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.url}/cds-services", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not come up: {self.log.read_text()[-3000:]}")

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def feedback_burst(server: ServerProcess) -> tuple[list[str], int]:
    """Writers post one feedback item each time until the server dies; returns acknowledged card ids."""
    acknowledged: list[str] = []
    attempts = 0
    lock = threading.Lock()
    stop = threading.Event()

    def writer() -> None:
        nonlocal attempts
        session = requests.Session()
        while not stop.is_set():
            card = str(uuid.uuid4())
            body = {
                "feedback": [
                    {
                        "card": card,
                        "outcome": "accepted",
                        "outcomeTimestamp": "2026-11-25T10:00:00Z",
                        "acceptedSuggestions": [{"id": str(uuid.uuid4())}],
                    }
                ]
            }
            with lock:
                attempts += 1
            try:
                response = session.post(f"{server.url}/cds-services/{SERVICE}/feedback", json=body, timeout=5)
            except requests.RequestException:
                if server.proc is not None and server.proc.poll() is not None:
                    return
                continue
            if response.status_code == 200:
                with lock:
                    acknowledged.append(card)

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with lock:
            if len(acknowledged) >= KILL_AFTER_ACKS:
                break
        time.sleep(0.005)
    # Killed while the writers are still posting: some requests are in flight.
    server.kill9()
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    return acknowledged, attempts


def run_kill9_scenario(tmp_path: Path, storage_url: str) -> None:
    config = tmp_path / "plugin.toml"
    config.write_text(f'[storage]\nurl = "{storage_url}"\n[audit]\nlog = "off"\n')
    server = ServerProcess(config, tmp_path / "server.log")
    try:
        server.start()
        acknowledged, attempts = feedback_burst(server)
        assert len(acknowledged) >= KILL_AFTER_ACKS, "the burst did not get going"
        assert attempts > len(acknowledged), "the kill came after the burst, not during it"
        server.start()  # same config, same store, after the crash
        assert requests.get(f"{server.url}/cds-services", timeout=5).status_code == 200
    finally:
        server.stop()
    store = Store(storage_url)
    stored = {row["card_uuid"] for row in store.list_feedback(SERVICE)}
    store.close()
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged feedback items lost"


@pytest.mark.slow
def test_kill9_during_feedback_burst__every_acknowledged_item_kept_sqlite(tmp_path: Path) -> None:
    run_kill9_scenario(tmp_path, f"sqlite:///{tmp_path / 'feedback.db'}")


@pytest.mark.slow
@pytest.mark.postgres
def test_kill9_during_feedback_burst__every_acknowledged_item_kept_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    run_kill9_scenario(tmp_path, postgres_url)
