"""The product under gunicorn with one setting changed, for comparisons (`python -m tools.bench.variant`).

    python -m tools.bench.variant --port 18401 --workers 2 --config bench.toml --no-preload

Only the benchmark uses it (memory without preload); the product is served by `cpt-plugin serve`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from plugin.app import create_app
    from plugin.serving import run_gunicorn

    parser = argparse.ArgumentParser(prog="python -m tools.bench.variant")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--config", required=True)
    parser.add_argument("--no-preload", action="store_true", help="load the app in each worker")
    args = parser.parse_args(argv)
    overrides = {"preload_app": not args.no_preload}
    return run_gunicorn(
        lambda: create_app(config_file=args.config), args.host, args.port, args.workers, overrides
    )


if __name__ == "__main__":
    sys.exit(main())
