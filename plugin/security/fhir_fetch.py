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
from urllib.parse import unquote

import orjson
import requests
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


def _target(fhir_server: str, relative: str) -> str:
    if "://" in relative or relative.startswith("//") or "\\" in relative:
        raise FetchError("bad-path", "the query must be relative to the FHIR base")
    path, _, query = relative.lstrip("/").partition("?")
    segments = unquote(path).split("/")
    if any(s in ("..", ".") for s in segments) or "#" in relative:
        raise FetchError("bad-path", "the query may not leave the FHIR base")
    url = f"{fhir_server.rstrip('/')}/{path}"
    return f"{url}?{query}" if query else url


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
    url = _target(fhir_server, relative)
    limits = app.config["PLUGIN"]["limits"]
    per_fetch = float(limits["fetch_timeout_seconds"])
    max_bytes = int(limits["fetch_max_bytes"])
    started = time.monotonic()
    stop = min(started + per_fetch, deadline) if deadline is not None else started + per_fetch
    remaining = stop - started
    if remaining <= 0:
        raise FetchError("timeout", "no time left for this fetch")
    headers = {"Accept": FHIR_ACCEPT}
    if access_token:
        headers["Authorization"] = f"Bearer {access_token}"
    session = requests.Session()
    session.trust_env = False
    try:
        with session.get(
            url, headers=headers, timeout=remaining, allow_redirects=False, stream=True
        ) as response:
            if 300 <= response.status_code < 400:
                raise FetchError("redirect", f"answered {response.status_code}; redirects are not followed")
            if response.status_code in (404, 410):
                return None
            if response.status_code != 200:
                raise FetchError("status", f"answered {response.status_code}", response.status_code)
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError("too-large", f"body of {declared} bytes exceeds {max_bytes}")
            body = bytearray()
            for chunk in response.iter_content(65536):
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError("too-large", f"body exceeds {max_bytes} bytes")
                if time.monotonic() > stop:
                    raise FetchError("timeout", "the body took too long")
    except requests.Timeout as exc:
        raise FetchError("timeout", "no answer in time") from exc
    except requests.ConnectionError as exc:
        raise FetchError("refused", "could not connect") from exc
    except requests.RequestException as exc:
        raise FetchError("refused", type(exc).__name__) from exc
    finally:
        session.close()
    try:
        resource = orjson.loads(bytes(body))
    except orjson.JSONDecodeError as exc:
        raise FetchError("invalid", "the body is not JSON") from exc
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise FetchError("invalid", "the body is not a FHIR resource")
    return resource
