"""Production serving: gunicorn, configured in code (this module is the gunicorn.conf.py).

Why these settings (measured on a 2-core machine; numbers in docs/performance.md):

- `worker_class = "sync"`, `workers` = cores. The CDS and terminology handlers are CPU-bound
  (JSON in, rules or index look-ups, JSON out). Sync workers close every connection after the
  response, so the kernel spreads connections evenly over the workers; gthread workers pinned
  keep-alive clients to one worker and lost half the throughput in about half of the runs.
- `preload_app = True`. Content (code systems, value sets, rules, compiled schemas) is loaded
  once in the master before the workers fork. Start-up is paid once, and the indexes are shared
  copy-on-write. `gc.freeze()` right before forking moves everything loaded so far out of the
  collector's sight, so a collection in a worker does not write to (and so copy) those pages.
- `timeout = 30`. A worker silent for 30 s is killed and replaced. Hooks must answer in well
  under a second; a longer silence is a hung fallback fetch or a bug, not work.
- `max_requests` with jitter. Each worker is replaced after 20,000 +/- 2,000 requests, so slow
  growth (a cache, fragmentation) is bounded, and the jitter keeps workers from recycling together.
- `control_socket_disable = True`. gunicorn 27 opens a control socket at one path per user; a
  second instance on the machine (a benchmark floor, a test server) would unlink the first one's.
- `worker_tmp_dir = /dev/shm` when it exists: the heartbeat file must not sit on a slow or
  overlay disk (containers), or a busy disk can make the master kill healthy workers.
- No access log by default: one line per request costs throughput, and the CDS audit line
  (written by the security area) already records every hook call.

Areas can ask for work to be done before the workers fork: every callable in
`app.extensions["prefork_warmups"]` runs once when the app is loaded (in the master with preload,
so what it builds - e.g. code system indexes - is shared by all workers, and inherited by each
worker that replaces a recycled one instead of being rebuilt on its first request).

Any gunicorn setting can be changed the way gunicorn itself documents: command-line options in the
GUNICORN_CMD_ARGS environment variable (e.g. `GUNICORN_CMD_ARGS="--timeout 10 --access-logfile -"`),
applied over the settings here.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Mapping
from typing import Any

from gunicorn.app.base import BaseApplication

WSGIApp = Callable[..., Any]
WARMUPS_KEY = "prefork_warmups"

DEFAULT_OPTIONS: dict[str, Any] = {
    "worker_class": "sync",
    "preload_app": True,
    "timeout": 30,
    "graceful_timeout": 20,
    "max_requests": 20_000,
    "max_requests_jitter": 2_000,
    "backlog": 2048,
    "control_socket_disable": True,
    "accesslog": None,
    "errorlog": "-",
    "loglevel": "info",
    "proc_name": "cpt-plugin",
}


def _freeze_before_fork(server: Any) -> None:
    # Called in the master once the app is loaded (preload) and before any worker exists.
    gc.collect()
    gc.freeze()


def _post_fork(server: Any, worker: Any) -> None:
    # A database pool opened in the master (only if something used the store at load time)
    # must not be shared with the children: drop the inherited connections without closing them.
    app = getattr(getattr(worker, "app", None), "callable", None)
    extensions = getattr(app, "extensions", None) or {}
    store = extensions.get("store")
    engine = getattr(store, "engine", None)
    if engine is not None:
        engine.dispose(close=False)


def _worker_exit(server: Any, worker: Any) -> None:
    # Issued-card and audit rows are written behind (plugin/storage/writer.py): a worker leaving
    # normally (SIGTERM, max_requests recycling) writes what it still holds before it goes.
    app = getattr(getattr(worker, "app", None), "callable", None)
    store = (getattr(app, "extensions", None) or {}).get("store")
    if store is not None and hasattr(store, "flush"):
        store.flush()


def run_warmups(app: Any) -> None:
    """Run the warm-ups areas registered on the app (see the module docstring)."""
    for warm in list((getattr(app, "extensions", None) or {}).get(WARMUPS_KEY, [])):
        warm()


def gunicorn_options(
    host: str,
    port: int,
    workers: int,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The gunicorn settings used by `cpt-plugin serve --workers N` (and by the benchmark)."""
    if workers < 1:
        raise ValueError("workers must be at least 1")
    options = dict(DEFAULT_OPTIONS)
    options["bind"] = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    options["workers"] = workers
    if os.path.isdir("/dev/shm"):
        options["worker_tmp_dir"] = "/dev/shm"
    options.update(overrides or {})
    return options


class GunicornServer(BaseApplication):
    """gunicorn run in-process: `load_app` builds the WSGI app (in the master when preloading)."""

    def __init__(self, load_app: Callable[[], WSGIApp], options: Mapping[str, Any]) -> None:
        self._load_app = load_app
        self._options = dict(options)
        super().__init__()

    def load_config(self) -> None:
        assert self.cfg is not None
        unknown = [key for key in self._options if key not in self.cfg.settings]
        if unknown:
            raise ValueError(f"unknown gunicorn setting(s): {', '.join(sorted(unknown))}")
        for key, value in self._options.items():
            self.cfg.set(key, value)
        from_env = self.cfg.parser().parse_args(self.cfg.get_cmd_args_from_env())
        for key, value in vars(from_env).items():
            if value is not None and key != "args":
                self.cfg.set(key.lower(), value)
        if self.cfg.preload_app and "when_ready" not in self._options:
            self.cfg.set("when_ready", _freeze_before_fork)
        if "post_fork" not in self._options:
            self.cfg.set("post_fork", _post_fork)
        if "worker_exit" not in self._options:
            self.cfg.set("worker_exit", _worker_exit)

    def load(self) -> WSGIApp:
        app = self._load_app()
        run_warmups(app)
        return app


def run_gunicorn(
    load_app: Callable[[], WSGIApp],
    host: str,
    port: int,
    workers: int,
    overrides: Mapping[str, Any] | None = None,
) -> int:
    """Serve until SIGTERM/SIGINT; returns the exit status (gunicorn itself exits the process)."""
    GunicornServer(load_app, gunicorn_options(host, port, workers, overrides)).run()
    return 0
