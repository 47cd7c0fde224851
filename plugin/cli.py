"""The `cpt-plugin` command. Each subcommand lives in its own module under plugin/commands/.

A module there joins the CLI by defining `register(subparsers)`, which adds its parser and sets
`func` (called with the parsed arguments; its return value is the exit status).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from plugin import commands
from plugin.version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cpt-plugin",
        description="FHIR terminology and CDS Hooks rules for CPT 33952 and the ECMO/ECLS family.",
    )
    parser.add_argument("--version", action="version", version=f"cpt-plugin {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
