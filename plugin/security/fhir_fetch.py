"""The one way the service reads from a caller's FHIR server (the CDS Hooks fallback fetch).

Guards against server-side request forgery and a misbehaving FHIR server:
- the base must be allowed for the calling issuer (`allowed_fhir_base`) before any connection;
- the URL fetched stays under that base (no `..`, no absolute or scheme-relative paths);
- redirects are never followed (a 3xx could point anywhere, and would carry the token along);
- `fhirAuthorization.access_token` is sent to that URL only, never logged;
- environment proxies and ~/.netrc are ignored (they could reroute the call or add credentials);
- connect/read timeouts plus a wall-clock deadline for the whole body, and a byte cap.
Failures raise FetchError with a short `kind`, so the caller can choose 412 or a data-quality card.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
import requests
import urllib3
from flask import Flask

from plugin.security.fetch_policy import allowed_fhir_base, current_issuer

log = logging.getLogger("cpt_plugin.security")

FHIR_ACCEPT = "application/fhir+json, application/json;q=0.9"


class FetchError(Exception):
    """A fallback fetch that gave nothing usable. kind: not-allowed | bad-path | refused | timeout |
    redirect | status | too-large | invalid."""

    def __init__(self, kind: str, detail: str, status: int | None = None) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.status = status


def url_under_base(fhir_server: str, relative: str) -> str:
    """`{fhir_server}/{relative}`, refusing a relative part that could leave the base."""
    if "://" in relative or relative.startswith("//") or "\\" in relative or "#" in relative:
        raise FetchError("bad-path", "the query must be relative to the FHIR base")
    path, _, query = relative.lstrip("/").partition("?")
    if any(s in ("..", ".") for s in unquote(path).split("/")):
        raise FetchError("bad-path", "the query may not leave the FHIR base")
    url = f"{fhir_server.rstrip('/')}/{path}"
    return f"{url}?{query}" if query else url


def is_under_base(fhir_server: str, url: str) -> bool:
    """Is `url` (e.g. a searchset's `next` link) on the same server, below the base, without dot segments?"""
    base, target = urlsplit(fhir_server), urlsplit(url)
    if (target.scheme, target.hostname, target.port) != (base.scheme, base.hostname, base.port):
        return False
    if target.username or target.password or "\\" in url:
        return False
    if any(s in ("..", ".") for s in unquote(target.path).split("/")):
        return False
    return target.path.startswith(base.path.rstrip("/") + "/")


def _narrow_read_timeout(response: requests.Response, seconds: float) -> None:
    # urllib3 applies the read timeout per recv; shrink it as the deadline approaches so a server that
    # trickles bytes cannot stretch the exchange. The socket is reached through urllib3's connection.
    sock = getattr(getattr(response.raw, "_connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.001))


def bounded_get(url: str, *, headers: dict[str, str], stop: float, max_bytes: int) -> tuple[int, bytes]:
    """GET `url` once: no redirects, no proxy or .netrc from the environment, the whole exchange over by
    `stop` (a time.monotonic() instant) and at most `max_bytes` of body. 3xx bodies are not read.

    The body is read one recv at a time (read1), because a buffered read of a fixed size would wait
    for all of it however slowly it arrives.
    """
    left = stop - time.monotonic()
    if left <= 0:
        raise FetchError("timeout", "no time left for this fetch")
    session = requests.Session()
    session.trust_env = False
    try:
        with session.get(url, headers=headers, timeout=left, allow_redirects=False, stream=True) as response:
            if 300 <= response.status_code < 400:
                return response.status_code, b""
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError("too-large", f"body of {declared} bytes exceeds {max_bytes}")
            body = bytearray()
            while True:
                left = stop - time.monotonic()
                if left <= 0:
                    raise FetchError("timeout", "the body took too long")
                _narrow_read_timeout(response, left)
                chunk = response.raw.read1(65536, decode_content=True)
                if not chunk:
                    break
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError("too-large", f"body exceeds {max_bytes} bytes")
            return response.status_code, bytes(body)
    except FetchError:
        raise
    except (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError) as exc:
        raise FetchError("timeout", "no answer in time") from exc
    except (requests.ConnectionError, urllib3.exceptions.ProtocolError) as exc:
        raise FetchError("refused", "could not connect or the connection broke") from exc
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise FetchError("refused", type(exc).__name__) from exc
    finally:
        session.close()


def fetch_fhir(
    app: Flask,
    fhir_server: str,
    relative: str,
    *,
    access_token: str | None = None,
    deadline: float | None = None,
) -> dict[str, Any] | None:
    """GET `{fhir_server}/{relative}` as FHIR JSON; None when the server says 404/410 (no such resource).

    `deadline` is a time.monotonic() instant shared by all fetches of one hook call.
    """
    if not allowed_fhir_base(app, fhir_server, current_issuer()):
        raise FetchError("not-allowed", "this FHIR server is not allowed for the caller")
    url = url_under_base(fhir_server, relative)
    limits = app.config["PLUGIN"]["limits"]
    stop = time.monotonic() + float(limits["fetch_timeout_seconds"])
    if deadline is not None:
        stop = min(stop, deadline)
    headers = {"Accept": FHIR_ACCEPT}
    if access_token:
        headers["Authorization"] = f"Bearer {access_token}"
    status, body = bounded_get(url, headers=headers, stop=stop, max_bytes=int(limits["fetch_max_bytes"]))
    if 300 <= status < 400:
        raise FetchError("redirect", f"answered {status}; redirects are not followed", status)
    if status in (404, 410):
        return None
    if status != 200:
        raise FetchError("status", f"answered {status}", status)
    try:
        resource = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise FetchError("invalid", "the body is not JSON") from exc
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise FetchError("invalid", "the body is not a FHIR resource")
    return resource
