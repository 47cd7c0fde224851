"""The servers a benchmark starts: the product (`cpt-plugin serve`), its no-preload variant, the floor."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from tools.bench import procs
from tools.bench.settings import Settings


def write_config(
    path: Path,
    work_dir: Path,
    extra_paths: list[Path],
    storage_url: str | None = None,
    *,
    icd10cm: bool = True,
) -> Path:
    # A fresh database next to the config file (a temporary folder) for every run: a database left
    # by an older version of the schema must not turn every write into a logged error.
    lines = [
        "[storage]",
        f'url = "{storage_url or "sqlite:///" + (path.parent / (path.stem + "-feedback.db")).as_posix()}"',
        "[content]",
        "paths = [" + ", ".join(f'"{p.as_posix()}"' for p in extra_paths) + "]",
    ]
    if not icd10cm:  # a deployment that serves no ICD-10-CM (`[content] icd10cm = ""`)
        lines.append('icd10cm = ""')
    path.write_text("\n".join(lines) + "\n")
    return path


def product_server(settings: Settings, config: Path, name: str) -> procs.Server:
    port = procs.free_port()
    return procs.Server(
        name=name,
        argv=procs.cli_argv(
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(settings.workers),
            "--config",
            str(config),
        ),
        port=port,
        log_path=settings.work_dir / f"{name}.log",
    )


def no_preload_server(settings: Settings, config: Path) -> procs.Server:
    port = procs.free_port()
    return procs.Server(
        name="no-preload",
        argv=[
            sys.executable,
            "-m",
            "tools.bench.variant",
            "--port",
            str(port),
            "--workers",
            str(settings.workers),
            "--config",
            str(config),
            "--no-preload",
        ],
        port=port,
        log_path=settings.work_dir / "no-preload.log",
    )


def floor_server(
    settings: Settings, jwks_file: Path | None = None, issuer: str | None = None
) -> procs.Server:
    """The floor server; with `jwks_file` and `issuer` its /floor-jwt accepts that issuer's tokens."""
    port = procs.free_port()
    jwt_args = ["--jwks", str(jwks_file), "--issuer", issuer] if jwks_file and issuer else []
    return procs.Server(
        name="floor",
        argv=[
            sys.executable,
            "-m",
            "tools.bench.floor",
            "--port",
            str(port),
            "--workers",
            str(settings.workers),
            *jwt_args,
        ],
        port=port,
        log_path=settings.work_dir / "floor.log",
    )


def at_rest(server: procs.Server, workers: int) -> dict[str, Any]:
    server.wait_for_workers(workers)
    time.sleep(0.5)  # let the last worker finish booting
    return server.memory()
