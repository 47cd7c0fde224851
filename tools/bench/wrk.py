"""Drive a closed-loop run with wrk (Debian's `wrk` package) and read its numbers back as JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from tools.bench.loadgen import LoadResult

MARKER = "CPTBENCH "

# wrk's Lua hooks: set the request once; at the end print one machine-readable line.
_SCRIPT = """
wrk.method = "{method}"
{body}
{headers}
{rotate}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{marker}{{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.3f}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
end
"""


def wrk_path() -> str | None:
    return shutil.which("wrk")


def wrk_version() -> str | None:
    path = wrk_path()
    if not path:
        return None
    out = subprocess.run([path, "-v"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0] if first else "wrk"


# Per request, in turn: one header value (e.g. a fresh JWT: a token's jti may be used once; past the
# end it starts over, which the server then refuses as a replay) and/or one body (a varied workload),
# each read from a file of one value per line.
_ROTATE = """
local values, bodies = {{}}, {{}}
{load_values}
{load_bodies}
local sent = 0
request = function()
  sent = sent + 1
  {set_header}
  return wrk.format(nil, nil, nil, {body})
end
"""


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal for our headers


def _read_lines(table: str, path: Path) -> str:
    return f"for line in io.lines({_lua_string(str(path))}) do {table}[#{table} + 1] = line end"


def _in_turn(table: str) -> str:
    return f"{table}[(sent - 1) % #{table} + 1]"


def run_wrk(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    duration: float = 10.0,
    connections: int = 8,
    threads: int = 1,
    rotate: tuple[str, str, list[str]] | None = None,
    bodies: list[bytes] | None = None,
) -> LoadResult:
    """`rotate` = (header, prefix, values): each request sends the next value, prefixed. `bodies`: each
    request sends the next of these bodies (compact JSON: one line each) instead of `body`."""
    path = wrk_path()
    if not path:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="cpt-bench-wrk-") as tmp:
        body_line = ""
        if body is not None:
            body_file = Path(tmp) / "body"
            body_file.write_bytes(body)
            body_line = (
                f'local f = io.open({_lua_string(str(body_file))}, "rb"); wrk.body = f:read("*a"); f:close()'
            )
        header_lines = "\n".join(
            f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in (headers or {}).items()
        )
        rotate_lines = ""
        if rotate is not None or bodies:
            load_values = set_header = load_bodies = ""
            body_expr = "nil"
            if rotate is not None:
                name, prefix, values = rotate
                values_file = Path(tmp) / "values"
                values_file.write_text("\n".join(values) + "\n")
                load_values = _read_lines("values", values_file)
                set_header = (
                    f"wrk.headers[{_lua_string(name)}] = {_lua_string(prefix)} .. {_in_turn('values')}"
                )
            if bodies:
                if any(b"\n" in b for b in bodies):
                    raise ValueError("each body must be one line (compact JSON)")
                bodies_file = Path(tmp) / "bodies"
                bodies_file.write_bytes(b"\n".join(bodies) + b"\n")
                load_bodies = _read_lines("bodies", bodies_file)
                body_expr = _in_turn("bodies")
            rotate_lines = _ROTATE.format(
                load_values=load_values, load_bodies=load_bodies, set_header=set_header, body=body_expr
            )
        script = Path(tmp) / "bench.lua"
        script.write_text(
            _SCRIPT.format(
                method=method, body=body_line, headers=header_lines, rotate=rotate_lines, marker=MARKER
            )
        )
        seconds = max(1, round(duration))
        cmd = [
            path,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith(MARKER)), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}")
    data = json.loads(line[len(MARKER) :])
    result = LoadResult(tool="wrk", duration_s=data["duration_us"] / 1e6)
    result.requests = data["requests"]
    result.non_2xx = data["status"]
    result.errors = data["connect"] + data["read"] + data["write"] + data["timeout"]
    result.status_counts = {}
    result.summary = {
        "p50_ms": data["p50"] / 1000.0,
        "p90_ms": data["p90"] / 1000.0,
        "p99_ms": data["p99"] / 1000.0,
        "p999_ms": data["p999"] / 1000.0,
        "max_ms": data["max"] / 1000.0,
        "mean_ms": data["mean"] / 1000.0,
    }
    return result
