"""A replayed token is refused even when the copies land on different gunicorn worker processes:
the jti record lives in the shared store, not in a worker's memory."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.security.conftest import Signer, secure_config_text, write_config

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 3
COPIES = 12


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_same_token_sent_to_several_workers_at_once__accepted_exactly_once(
    tmp_path: Path, signer: Signer
) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "ehr-jwks.json").write_text(json.dumps(signer.jwks()))
    config = write_config(tmp_path, secure_config_text(tmp_path, jwks_file="keys/ehr-jwks.json"))
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-k", "sync", "-w", str(WORKERS), "--no-control-socket",
         "-b", f"127.0.0.1:{port}", "plugin.app:create_app()"],
        cwd=ROOT,
        env={**os.environ, "CPT_PLUGIN_CONFIG": str(config)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{base}/", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        url = f"{base}/cds-services"
        # Warm every worker up (each opens the store on its first request) with tokens of their own.
        for _ in range(WORKERS * 3):
            assert requests.get(url, headers={"Authorization": f"Bearer {signer.token(url)}"}, timeout=10).ok

        token = signer.token(url)
        statuses: list[int] = []
        gate = threading.Barrier(COPIES)

        def send() -> None:
            session = requests.Session()
            gate.wait()
            reply = session.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
            statuses.append(reply.status_code)

        threads = [threading.Thread(target=send) for _ in range(COPIES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
        log.close()
    assert sorted(statuses) == [200] + [401] * (COPIES - 1)
    pids = {line.split("pid: ")[1].split()[0] for line in (tmp_path / "gunicorn.log").read_text().splitlines()
            if "Booting worker with pid" in line}  # fmt: skip
    assert len(pids) == WORKERS
