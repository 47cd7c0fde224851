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


# One header value per request, taken in turn from a file (e.g. a fresh JWT per request: a token's
# jti may be used once). Past the end it starts over, which the server then refuses as a replay.
_ROTATE = """
local values = {{}}
for line in io.lines({path}) do values[#values + 1] = line end
local next_value = 0
request = function()
  next_value = next_value % #values + 1
  wrk.headers[{name}] = {prefix} .. values[next_value]
  return wrk.format()
end
"""


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal for our headers


def run_wrk(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    duration: float = 10.0,
    connections: int = 8,
    threads: int = 1,
    rotate: tuple[str, str, list[str]] | None = None,
) -> LoadResult:
    """`rotate` = (header, prefix, values): each request sends the next value, prefixed."""
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
        if rotate is not None:
            name, prefix, values = rotate
            values_file = Path(tmp) / "values"
            values_file.write_text("\n".join(values) + "\n")
            rotate_lines = _ROTATE.format(
                path=_lua_string(str(values_file)), name=_lua_string(name), prefix=_lua_string(prefix)
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
