"""Shared fixtures: the app, its test client, and the app served over real HTTP on loopback."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from plugin import clock
from plugin.app import create_app


@pytest.fixture(autouse=True)
def _clock_restored() -> Iterator[None]:
    """A test that pins the product's clock (or builds an app with `clock.today`) leaves it as found."""
    before = clock.pinned_date()
    yield
    clock.pin(before)


def test_settings(tmp_path: Path) -> dict[str, Any]:
    """Settings every test app starts from: its own feedback database, no JWT, no config file."""
    return {
        "storage": {"url": f"sqlite:///{tmp_path / 'feedback.db'}"},
        "security": {"require_jwt": False, "issuers": []},
    }


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    application = create_app(test_settings(tmp_path))
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class LiveServer:
    """A WSGI app served by werkzeug on 127.0.0.1 on a free port, in a background thread."""

    def __init__(self, wsgi_app: Callable[..., Any]) -> None:
        self._server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        # A short poll interval makes shutdown quick; tests start and stop many servers.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(app).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[..., Any]], LiveServer]]:
    """Start any WSGI app (e.g. a stand-in FHIR server) on loopback; all are stopped after the test."""
    started: list[LiveServer] = []

    def _serve(wsgi_app: Callable[..., Any]) -> LiveServer:
        server = LiveServer(wsgi_app).start()
        started.append(server)
        return server

    yield _serve
    for server in started:
        server.stop()
