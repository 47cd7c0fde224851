"""`cpt-plugin replay`: send the sandbox scenarios to a CDS service and check the cards they get."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HOOKS = ("order-select", "order-sign")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay sandbox scenarios against a CDS service and compare the cards",
        description="Build CDS Hooks requests from the sandbox bundles, call the service over HTTP, "
        "print the cards as a table and compare them with each scenario's expected cards. "
        "Exit 1 on any difference.",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--scenario", action="append", metavar="NAME", help="replay this scenario (repeatable)"
    )
    which.add_argument("--all", action="store_true", help="replay every scenario")
    parser.add_argument(
        "--hook", action="append", choices=HOOKS, help="hook to fire (repeatable; default order-sign)"
    )
    parser.add_argument(
        "--url", default="http://127.0.0.1:8080", help="base URL of the service (default %(default)s)"
    )
    parser.add_argument(
        "--omit-prefetch",
        action="store_true",
        help="send no prefetch; the service fetches from {URL}/sandbox/fhir (serving the same patients)",
    )
    parser.add_argument(
        "--bundles",
        action="append",
        type=Path,
        metavar="PATH",
        help="bundle files or folders (default: the synthetic set and the configured imported folders)",
    )
    parser.add_argument("--config", help="TOML configuration file (for [sandbox] patients_dirs)")
    signing = parser.add_argument_group(
        "signing", "for a service that requires JWTs: sign every call with a fresh token for its URL"
    )
    signing.add_argument("--jwt-key", type=Path, metavar="PEM", help="private key (EC P-256/384/521 or RSA)")
    signing.add_argument("--jwt-iss", metavar="ISS", help="issuer the service trusts for that key")
    signing.add_argument("--jwt-kid", metavar="KID", help="key id of the key in the issuer's JWKS")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from plugin.config import ConfigError, load_settings
    from plugin.sandbox import replay
    from plugin.sandbox.store import SandboxStore, folders_from_settings

    if args.bundles:
        missing = [str(p) for p in args.bundles if not p.exists()]
        if missing:
            print(f"cpt-plugin replay: not found: {', '.join(missing)}", file=sys.stderr)
            return 2
        store = SandboxStore([]).load_paths("given", args.bundles)
    else:
        try:
            settings = load_settings(config_file=args.config)
        except ConfigError as exc:
            print(f"cpt-plugin replay: {exc}", file=sys.stderr)
            return 2
        store = SandboxStore(folders_from_settings(settings)).load()
    for problem in store.problems:
        print(f"warning: {problem}", file=sys.stderr)
    if args.all:
        records = list(store.records.values())
    else:
        unknown = [name for name in args.scenario if name not in store.records]
        if unknown:
            print(f"cpt-plugin replay: unknown scenario(s): {', '.join(unknown)}", file=sys.stderr)
            print(f"known: {', '.join(store.records)}", file=sys.stderr)
            return 2
        records = [store.records[name] for name in args.scenario]
    if not records:
        print("cpt-plugin replay: no scenarios to replay", file=sys.stderr)
        return 2
    auth = None
    if args.jwt_key or args.jwt_iss or args.jwt_kid:
        if not (args.jwt_key and args.jwt_iss and args.jwt_kid):
            print("cpt-plugin replay: --jwt-key, --jwt-iss and --jwt-kid go together", file=sys.stderr)
            return 2
        from plugin.security.client_jwt import CdsHooksJwtAuth, SigningKeyError

        try:
            auth = CdsHooksJwtAuth(args.jwt_key, args.jwt_iss, args.jwt_kid)
        except SigningKeyError as exc:
            print(f"cpt-plugin replay: {exc}", file=sys.stderr)
            return 2
    try:
        outcomes = replay.run(
            records, args.hook or ["order-sign"], args.url, omit_prefetch=args.omit_prefetch, auth=auth
        )
    except replay.ReplayError as exc:
        print(f"cpt-plugin replay: {exc}", file=sys.stderr)
        return 2
    print(replay.table(outcomes))
    return 0 if all(o.status == "PASS" for o in outcomes) else 1
