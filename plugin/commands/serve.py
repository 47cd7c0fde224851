"""`cpt-plugin serve`: serve every area (FHIR, CDS Hooks, sandbox) on one port.

Without `--workers` (and with `[server] workers` at 1) this is Flask's threaded development
server, which is what `make run` uses. With `--workers N` (or `[server] workers` above 1) it is
gunicorn with N sync workers, configured in plugin/serving.py (and GUNICORN_CMD_ARGS).
"""

from __future__ import annotations

import argparse
import signal
import sys

from plugin.config import load_settings


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="serve the FHIR API, the CDS Hooks service and the sandbox")
    parser.add_argument("--host", help="interface to bind (default from config, else 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to bind (default from config, else 8080)")
    parser.add_argument(
        "--workers",
        type=_positive_int,
        help="serve with gunicorn and N sync worker processes (default from config; 1 = development server)",
    )
    parser.add_argument("--config", help="TOML configuration file (else $CPT_PLUGIN_CONFIG)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from flask import Flask

    from plugin.app import create_app
    from plugin.storage import enable_background_purge

    settings = load_settings(config_file=args.config)
    server = settings["server"]
    host = args.host or server["host"]
    port = args.port if args.port is not None else server["port"]
    workers = args.workers if args.workers is not None else int(server.get("workers") or 1)

    def load_app() -> Flask:
        app = create_app(config_file=args.config)
        enable_background_purge(app)  # old rows go by [storage.retention] (docs/configuration.md)
        return app

    if args.workers is not None or workers > 1:
        from plugin.serving import run_gunicorn

        return run_gunicorn(load_app, host, port, workers)
    app = load_app()
    # SIGTERM ends the development server like Ctrl-C does, through interpreter exit, so the rows
    # the store writes behind (issued cards, audit) are flushed by its atexit hook.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    app.run(host=host, port=port, threaded=True, use_reloader=False)
    return 0
