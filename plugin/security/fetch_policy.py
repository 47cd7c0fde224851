"""Which FHIR servers the service may fetch from on a caller's behalf (the SSRF guard).

A caller authenticated by JWT may only have us fetch from the FHIR bases configured for its issuer.
In development mode (no JWT required and no issuers configured) only loopback bases are fetched, so
the sandbox works out of the box and nothing else on the network can be reached.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, g


def current_issuer() -> str | None:
    """The `iss` of the verified JWT on this request, or None when the request carried none."""
    return g.get("cds_issuer")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _normalise(base: str) -> str:
    return base.rstrip("/")


def allowed_fhir_base(app: Flask, fhir_server: str, issuer: str | None) -> bool:
    parts = urlsplit(fhir_server)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return False
    security: dict[str, Any] = app.config["PLUGIN"]["security"]
    issuers: list[dict[str, Any]] = security.get("issuers") or []
    if issuer is not None:
        for entry in issuers:
            if entry.get("iss") == issuer:
                allowed = {_normalise(b) for b in entry.get("fhir_servers", [])}
                return _normalise(fhir_server) in allowed
        return False
    if not security.get("require_jwt") and not issuers:
        return _is_loopback(parts.hostname)
    return False
