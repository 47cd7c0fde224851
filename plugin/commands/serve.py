"""`cpt-plugin serve`: serve every area (FHIR, CDS Hooks, sandbox) on one port."""

from __future__ import annotations

import argparse

from plugin.config import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="serve the FHIR API, the CDS Hooks service and the sandbox")
    parser.add_argument("--host", help="interface to bind (default from config, else 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to bind (default from config, else 8080)")
    parser.add_argument("--workers", type=int, help="worker processes (default from config, else 1)")
    parser.add_argument("--config", help="TOML configuration file (else $CPT_PLUGIN_CONFIG)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from plugin.app import create_app

    settings = load_settings(config_file=args.config)
    host = args.host or settings["server"]["host"]
    port = args.port or settings["server"]["port"]
    app = create_app(config_file=args.config)
    app.run(host=host, port=port, threaded=True, use_reloader=False)
    return 0
