"""`cpt-plugin bench --scale-out`: order-sign with JWT on PostgreSQL, one instance vs nginx + two.

Both set-ups use the same total number of gunicorn workers (2 x `--workers`), one throw-away
PostgreSQL cluster with fsync on (tools/bench/postgres.py), the schema made by `cpt-plugin db
upgrade`, and a fresh ES384 token per request:
- "order-sign-jwt-pg-1x": one `cpt-plugin serve --workers 2W`;
- "order-sign-jwt-nginx-2x": two `cpt-plugin serve --workers W` behind nginx (tools/bench/scaleout.py).
The ratio of the second to the first is what splitting one machine's workers over instances and a
proxy costs; on separate machines the instances add up instead.

Both set-ups are up at once (each on its own empty database) and their runs are paired like an endpoint
with the floor: each run through nginx follows a run of the single instance, and the ratio is the median
of the pairs' ratios. Measured one after the other, the single instance's throughput moved from run to
run of the benchmark by up to 1.75x (607 to 1,065 req/s) with the machine, and the ratio with it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tools.bench import procs, scenarios
from tools.bench.jwt import BenchIssuer, write_jwt_config
from tools.bench.measure import measure
from tools.bench.postgres import start_cluster
from tools.bench.scaleout import Nginx, free_ports, nginx_path
from tools.bench.servers import product_server
from tools.bench.settings import Settings, log

# Tokens are minted before each row (0.26 ms each); more than this rate is not expected with JWT on.
MAX_RATE = 2_500.0


@dataclass
class _Behind:
    """What measure() needs of a server, for nginx and the instances behind it."""

    port: int
    pid: int  # the first instance's master: its workers' RSS is sampled
    parts: list[procs.Server]
    nginx: Nginx

    def cpu_seconds(self) -> float:
        """The instances' and nginx's (master and workers): the proxy's cost is part of the set-up."""
        total = sum(part.cpu_seconds() for part in self.parts)
        if self.nginx.process is not None:
            pid = self.nginx.process.pid
            total += procs.cpu_seconds(pid, reaped_children=True)
            total += sum(procs.cpu_seconds(child) for child in procs.children(pid))
        return total


def _upgrade(config: Path) -> None:
    done = subprocess.run(
        procs.cli_argv("db", "upgrade", "--config", str(config)), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"cpt-plugin db upgrade failed: {done.stderr.strip()[-500:]}")


def _tokens(
    issuer: BenchIssuer, audience: str, settings: Settings, hook: dict[str, Any], rounds: int = 1
) -> list[str]:
    """Fresh tokens for a warm-up and `rounds` x `repeat` runs at up to the hook's rate."""
    rate = min(float(hook.get("rps") or 1000.0), MAX_RATE)
    seconds = settings.warmup + settings.duration * max(1, settings.repeat) * rounds + 5
    return issuer.tokens(audience, int(rate * seconds * 1.2) + 100)


def scale_out_rows(
    settings: Settings, tmp: Path, issuer: BenchIssuer, hook: dict[str, Any]
) -> dict[str, Any]:
    path = f"/cds-services/{scenarios.payloads.SERVICE_ID}"
    result: dict[str, Any] = {"workers_total": 2 * settings.workers, "rows": [], "ratio": None}
    if settings.tool != "wrk" or nginx_path() is None:
        result["problem"] = "needs wrk and nginx"
        return result
    try:
        cluster = start_cluster(fsync=True)
    except RuntimeError as exc:
        result["problem"] = str(exc)
        return result
    try:
        # One instance with all the workers ...
        single_db = cluster.create_empty_database()
        config = write_jwt_config(tmp / "pg-1x.toml", settings.work_dir, [], issuer, storage_url=single_db)
        _upgrade(config)
        wide = replace(settings, workers=2 * settings.workers)
        # ... and two instances behind nginx, half the workers each, on one database of their own.
        proxy_port, *_ = free_ports(1)
        public = f"http://127.0.0.1:{proxy_port}"
        shared_db = cluster.create_empty_database()
        shared_config = write_jwt_config(
            tmp / "pg-2x.toml", settings.work_dir, [], issuer, storage_url=shared_db, public_base_url=public
        )
        _upgrade(shared_config)
        single_server = product_server(wide, config, "pg-1x")
        first = product_server(settings, shared_config, "pg-2x-a")
        second = product_server(settings, shared_config, "pg-2x-b")
        nginx = Nginx(proxy_port, [f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"])
        with single_server as server, first, second, nginx:
            # The single instance runs alone first (its row), then once before each run through nginx.
            single_endpoint = scenarios.jwt_endpoint(
                _tokens(issuer, f"http://127.0.0.1:{server.port}{path}", settings, hook, rounds=2)
            )
            single_endpoint.name = "order-sign-jwt-pg-1x"
            single_endpoint.note = f"one instance, {wide.workers} workers, PostgreSQL, JWT required"
            single = measure(server, single_endpoint, settings)
            result["rows"].append(single)
            behind = _Behind(proxy_port, first.pid, [first, second], nginx)
            endpoint = scenarios.jwt_endpoint(_tokens(issuer, f"{public}{path}", settings, hook))
            endpoint.name = "order-sign-jwt-nginx-2x"
            endpoint.note = f"nginx + 2 instances x {settings.workers} workers, one PostgreSQL, JWT required"
            spread = measure(behind, endpoint, settings, floor=(server, single_endpoint))  # type: ignore[arg-type]
        result["rows"].append(spread)
        if single["status"] == spread["status"] == "measured" and spread.get("paired_ratio_to_floor"):
            result["ratio"] = spread["paired_ratio_to_floor"]
            result["ratio_of_medians"] = round(spread["rps"] / single["rps"], 3) if single["rps"] else None
            log(
                f"scale-out: nginx + 2 instances / one instance = {result['ratio']} (median of "
                f"{len(spread.get('paired_floor') or [])} pairs; ratio of the rows' medians "
                f"{result['ratio_of_medians']})"
            )
    finally:
        cluster.stop()
    return result
