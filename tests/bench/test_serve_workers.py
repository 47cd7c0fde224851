"""`cpt-plugin serve --workers N` runs gunicorn with N workers, answers over HTTP and stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from plugin.cli import main
from plugin.serving import gunicorn_options
from tools.bench.procs import children, free_port

pytestmark = pytest.mark.slow


def _config(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "serve.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "feedback.db"}"\n{extra}')
    return config


def _start(
    args: list[str], tmp_path: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / "server.log"
    environment = {k: v for k, v in os.environ.items() if k != "GUNICORN_CMD_ARGS"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "plugin.cli", "serve", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**environment, **(env or {})},
        )
    return proc, log


def _wait_ready(proc: subprocess.Popen[bytes], port: int, log: Path) -> requests.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            return requests.get(f"http://127.0.0.1:{port}/", timeout=2)
        except requests.ConnectionError:
            time.sleep(0.05)
    raise AssertionError("server did not answer: " + log.read_text())


def _stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
            raise
    return proc.returncode


def _wait_children(pid: int, count: int) -> list[int]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = children(pid)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    return children(pid)


def test_serve_workers__gunicorn_answers_then_stops_with_its_workers(tmp_path: Path) -> None:
    port = free_port()
    proc, log = _start(
        ["--host", "127.0.0.1", "--port", str(port), "--workers", "2", "--config", str(_config(tmp_path))],
        tmp_path,
    )
    try:
        response = _wait_ready(proc, port, log)
        assert response.status_code == 200
        assert response.json()["name"] == "cpt-plugin"
        assert response.headers["Server"].startswith("gunicorn")
        workers = _wait_children(proc.pid, 2)
        assert len(workers) == 2
    finally:
        code = _stop(proc)
    assert code == 0
    text = log.read_text()
    assert "Using worker: sync" in text
    assert "Shutting down: Master" in text
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_serve__workers_from_config_select_gunicorn_and_env_overrides_apply(tmp_path: Path) -> None:
    port = free_port()
    config = _config(tmp_path, f"[server]\nworkers = 2\nport = {port}\n")
    proc, log = _start(["--config", str(config)], tmp_path, {"GUNICORN_CMD_ARGS": "--access-logfile -"})
    try:
        assert _wait_ready(proc, port, log).status_code == 200
        assert len(_wait_children(proc.pid, 2)) == 2
    finally:
        assert _stop(proc) == 0
    text = log.read_text()
    assert "Using worker: sync" in text
    assert '"GET / HTTP/1.1" 200' in text  # the access log that GUNICORN_CMD_ARGS switched on


def test_serve__without_workers_stays_the_development_server(tmp_path: Path) -> None:
    port = free_port()
    proc, log = _start(
        ["--host", "127.0.0.1", "--port", str(port), "--config", str(_config(tmp_path))], tmp_path
    )
    try:
        response = _wait_ready(proc, port, log)
        assert response.status_code == 200
        assert response.headers["Server"].startswith("Werkzeug")  # what `make run` serves with
    finally:
        _stop(proc)


def test_serve__unknown_gunicorn_option_is_a_clear_error(tmp_path: Path) -> None:
    config = _config(tmp_path)
    proc, log = _start(
        ["--port", str(free_port()), "--workers", "1", "--config", str(config)],
        tmp_path,
        {"GUNICORN_CMD_ARGS": "--worker-count 3"},
    )
    assert proc.wait(30) != 0
    assert "--worker-count" in log.read_text()


def test_gunicorn_server__unknown_setting_in_code_is_refused() -> None:
    from plugin.serving import GunicornServer

    with pytest.raises(SystemExit):  # gunicorn prints the error and exits
        GunicornServer(lambda: None, {"worker_count": 3})


def test_serve__zero_workers_rejected(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--workers", "0"])
    assert exit_info.value.code == 2
    assert "must be 1 or more" in capsys.readouterr().err


def test_gunicorn_options__production_defaults() -> None:
    options = gunicorn_options("127.0.0.1", 18000, 2, {"timeout": 5})
    assert options["bind"] == "127.0.0.1:18000"
    assert options["workers"] == 2
    assert options["worker_class"] == "sync"
    assert options["preload_app"] is True
    assert options["control_socket_disable"] is True
    assert options["max_requests"] > 0 and options["max_requests_jitter"] > 0
    assert options["timeout"] == 5
    assert gunicorn_options("::1", 80, 1)["bind"] == "[::1]:80"
    with pytest.raises(ValueError):
        gunicorn_options("127.0.0.1", 80, 0)
