"""`make fuzz`: schemathesis' CLI against a real gunicorn server, 10,000+ generated requests.

The server runs the app as deployed (gunicorn, sync workers, its own SQLite file) with a config that
exercises the security layer too: an issuer is configured but JWT is optional, so anonymous calls
reach the handlers (and may fetch from no FHIR server), and any generated token is verified.
Checks: no 5xx, status code / content type / body conform to /openapi.json, and no hang (each request
has a timeout; the server must still answer afterwards). Exit status 0 only when all of that held
and at least --min-requests requests were made; the count is printed.

    python tests/fuzz/run_fuzz.py [--min-requests 10000] [--seed 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(directory: Path, port: int) -> Path:
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "fuzz", "alg": "ES384"}
    (directory / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    config = directory / "fuzz.toml"
    config.write_text(
        f"""
[security]
require_jwt = false
[[security.issuers]]
iss = "https://fuzz.invalid"
jwks_file = "jwks.json"
fhir_servers = ["http://127.0.0.1:{port}/sandbox/fhir"]

# Issuers make this a production-mode configuration, where the sandbox is off by default; the
# fallback fetches above read from its FHIR server, and its routes are part of the surface fuzzed.
[sandbox]
enabled = true

[storage]
url = "sqlite:///{directory / "feedback.db"}"

[limits]
fetch_timeout_seconds = 2.0
fetch_total_seconds = 4.0

[audit]
log = "{directory / "audit.jsonl"}"
"""
    )
    return config


def start_server(config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CPT_PLUGIN_CONFIG": str(config)}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn",
                "-k", "sync", "-w", "2", "--timeout", "30", "--graceful-timeout", "5",
                "--no-control-socket", "-b", f"127.0.0.1:{port}",
                "--access-logfile", str(log.with_name("access.log")),
                "--access-logformat", "%(s)s %(m)s %(D)s %(U)s",
                "plugin.app:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited at start-up; see {log}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    stop_server(proc)
    raise SystemExit(f"server did not come up; see {log}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def read_access_log(log: Path) -> tuple[int, list[str], float]:
    """(requests the server answered, the 5xx lines, slowest answer in seconds) from gunicorn's log."""
    answered = 0
    server_errors: list[str] = []
    slowest = 0.0
    if not log.exists():
        return 0, [], 0.0
    for line in log.read_text(errors="replace").splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 4 or not parts[0].isdigit():
            continue
        answered += 1
        if int(parts[0]) >= 500:
            server_errors.append(line)
        slowest = max(slowest, int(parts[2]) / 1e6 if parts[2].isdigit() else 0.0)
    return answered, server_errors, slowest


def run_schemathesis(base: str, work: Path, per_operation: int, seed: int, workers: int) -> int:
    command = [
        str(Path(sys.executable).with_name("st")), "run", f"{base}/openapi.json",
        "--url", base,
        "--checks", CHECKS,
        "--max-examples", str(per_operation),
        "--request-timeout", "10",
        "--workers", str(workers),
        "--seed", str(seed),
        "--phases", "examples,coverage,fuzzing",
        "--suppress-health-check", "all",
        "--report", "ndjson,junit",
        "--report-dir", str(work / f"report-seed-{seed}"),
        "--no-color",
        "--continue-on-failure",
    ]  # fmt: skip
    print("+", " ".join(command), flush=True)
    return subprocess.run(command, cwd=work, check=False).returncode


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--min-requests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    # One worker: with several, hypothesis' lambda descriptions call ast.parse from threads, which
    # CPython 3.11.7 can fail ("AST constructor recursion depth mismatch"), a tool error, not ours.
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--keep", help="keep the server log, audit log and reports in this folder")
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="cpt-plugin-fuzz-"))
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = write_config(work, port)
    server = start_server(config, port, work / "server.log")
    base = f"http://127.0.0.1:{port}"
    exits: list[int] = []
    started = time.monotonic()
    try:
        document = requests.get(f"{base}/openapi.json", timeout=10).json()
        operations = sum(
            1
            for item in document["paths"].values()
            for method in item
            if method in ("get", "post", "put", "patch", "delete")
        )
        # Rounds with successive seeds until the server has answered enough; the examples and
        # coverage phases add to the fuzzing examples, so a round asks for a bit over half.
        for round_number in range(6):
            answered = read_access_log(work / "access.log")[0]
            if answered >= args.min_requests:
                break
            per_operation = max(10, math.ceil(0.6 * (args.min_requests - answered) / operations))
            exits.append(run_schemathesis(base, work, per_operation, args.seed + round_number, args.workers))
        elapsed = time.monotonic() - started
        alive = requests.get(f"{base}/", timeout=5).status_code == 200
    finally:
        stop_server(server)
    answered, server_errors, slowest = read_access_log(work / "access.log")
    for line in server_errors[:20]:
        print(f"fuzz: server error: {line}", file=sys.stderr)
    print(
        f"fuzz: {answered} requests answered by the server over {operations} operations in {len(exits)} "
        f"round(s), {elapsed:.0f} s (slowest answer {slowest:.2f} s); 5xx answers: {len(server_errors)}; "
        f"schemathesis exit codes {exits}; server alive afterwards: {alive}; work dir {work}"
    )
    ok = all(code == 0 for code in exits) and alive and not server_errors and answered >= args.min_requests
    if answered < args.min_requests:
        print(f"fuzz: fewer than {args.min_requests} requests", file=sys.stderr)
    if not args.keep and ok:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
