"""Several `cpt-plugin serve` instances behind nginx, on one PostgreSQL: the scale-out set-up.

`nginx_site()` is the nginx configuration docs/deploy.md gives hospitals (tests/scale checks that the
document shows exactly what this function writes); `Nginx` runs it for the scale-out test and the
benchmark's scale-out rows, from the Debian `nginx` package, on loopback, in a throw-away folder.

Why these directives:
- no upstream `keepalive`: gunicorn's sync workers close the connection after each response.
- `proxy_next_upstream error timeout http_502 http_503`: a request nginx could not hand to an instance
  (connection refused: the instance is down or restarting) goes to the next one. A POST that an
  instance had already received is not sent again (no `non_idempotent`): a hook call retried
  elsewhere would carry a JWT the first instance may have claimed (a replay, refused), and feedback
  could be stored twice; so a crash costs the requests in flight on that instance, and no more.
- `max_fails=1 fail_timeout=5s`: after one failure nginx leaves the instance alone for 5 s, then
  tries it again (a restarted instance is back in rotation without a reload).
- `proxy_set_header Host $http_host`: the instances see the Host the EHR used; the JWT audience is
  `server.public_base_url` (set it to nginx's URL), the same on every instance.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tools.bench import procs

NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/bin/nginx")
INSTALL_HINT = (
    "nginx was not found; install the Debian package: apt-get install -y --no-install-recommends nginx"
)


def nginx_path() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return next((p for p in NGINX_CANDIDATES if Path(p).exists()), None)


def nginx_site(listen: str, instances: Sequence[str], *, max_body: str = "1m") -> str:
    """The `upstream` and `server` blocks (for nginx's `http {}`): `listen` like "8080" or
    "127.0.0.1:8080", `instances` like ["127.0.0.1:8081", "127.0.0.1:8082"]."""
    servers = "\n".join(f"    server {address} max_fails=1 fail_timeout=5s;" for address in instances)
    return f"""upstream cpt_plugin {{
{servers}
}}

server {{
    listen {listen};
    # server_name cds.example.org;  listen 443 ssl;  ssl_certificate ...;  (TLS ends here)
    client_max_body_size {max_body};  # as [limits] max_body_bytes

    location / {{
        proxy_pass http://cpt_plugin;
        proxy_http_version 1.1;
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_connect_timeout 2s;
        proxy_read_timeout 30s;
        proxy_next_upstream error timeout http_502 http_503;
        proxy_next_upstream_tries 2;
        proxy_next_upstream_timeout 10s;
    }}

    # Readiness for a health checker in front of nginx: any instance that is ready answers.
    location = /readyz {{
        proxy_pass http://cpt_plugin;
        proxy_next_upstream error timeout http_502 http_503;
    }}
}}
"""


def _main_config(prefix: Path, site: str, worker_processes: int) -> str:
    # Everything nginx writes stays under `prefix`: a throw-away folder, not /var/lib/nginx.
    temp = "\n".join(
        f"    {name}_temp_path {prefix / 'tmp' / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
worker_processes {worker_processes};
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{
    worker_connections 1024;
}}
http {{
    access_log off;
{temp}
{site}
}}
"""


class Nginx:
    """nginx in the foreground with `site` in a throw-away prefix; `stop` ends it (its process only)."""

    def __init__(self, listen_port: int, instances: Sequence[str], worker_processes: int = 1) -> None:
        binary = nginx_path()
        if binary is None:
            raise RuntimeError(INSTALL_HINT)
        self.binary = binary
        self.port = listen_port
        self.prefix = Path(tempfile.mkdtemp(prefix="cpt-plugin-nginx-"))
        (self.prefix / "tmp").mkdir()
        self.config = self.prefix / "nginx.conf"
        site = nginx_site(f"127.0.0.1:{listen_port}", instances)
        self.config.write_text(_main_config(self.prefix, site, worker_processes))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15.0) -> Nginx:
        argv = [
            self.binary,
            "-p",
            str(self.prefix),
            "-e",
            str(self.prefix / "error.log"),
            "-c",
            str(self.config),
        ]
        check = subprocess.run([*argv, "-t"], capture_output=True, text=True, check=False)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t failed: {check.stderr.strip()}")
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.error_log()[-2000:]}")
            try:
                import socket

                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not listen on {self.port}: {self.error_log()[-2000:]}")

    def error_log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish the requests in flight
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.prefix, ignore_errors=True)

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(procs.free_port())
    return sorted(ports)
