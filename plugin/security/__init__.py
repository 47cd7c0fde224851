"""The security area: JWT on CDS Hooks calls, CORS, request size limits, the audit trail.

The CDS Hooks service (/cds-services) calls `authenticate`, `remember_caller` and the CORS and audit
functions from its own HTTP adapter (plugin/cds_hooks/adapter.py), in the same order as below.
For the Flask routes (FHIR, sandbox), this area is wired first by create_app, so its before_request
runs ahead of every area's handlers: CORS preflight (answered, no auth) -> body size (413).
Its after_request runs last: CORS headers on every response.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request

from plugin.config import development_mode
from plugin.http import SENT_PATH_KEY
from plugin.security import audit, cors, responses
from plugin.security.jwt_auth import AuthError, TokenVerifier, VerifiedToken
from plugin.security.responses import Refusal
from plugin.storage.replay import ReplayStoreError

log = logging.getLogger("cpt_plugin.security")

VERIFIER_KEY = "token_verifier"
BODY_LIMIT_KEY = "max_body_bytes"


def audiences_for(
    app: Flask, path: str, base_url: Callable[[], str], environ: dict[str, Any] | None = None
) -> list[str]:
    """The URL the caller invoked, as the JWT `aud` must name it (with or without a trailing slash).

    `base_url` gives the URL of this request without its query (only called without public_base_url).
    When the path came with doubled slashes (served as if single, see plugin.http.CollapseSlashes),
    the URL as the client wrote it is accepted too: that is the one its token names."""
    public = app.config["PLUGIN"]["server"]["public_base_url"]
    called = public.rstrip("/") + path if public else base_url()
    bare = called.rstrip("/")
    found = [bare, bare + "/"]
    sent = environ.get(SENT_PATH_KEY) if environ is not None else None
    if sent:
        if public:
            as_sent = public.rstrip("/") + sent.encode("latin-1").decode("utf-8", "replace")
        else:
            as_sent = Request({**environ, "PATH_INFO": sent}).base_url
        found += [as_sent.rstrip("/"), as_sent.rstrip("/") + "/"]
    return found


def authenticate(
    app: Flask,
    authorization: str | None,
    audiences: Callable[[], list[str]],
    path: str,
    remote_addr: str | None,
) -> VerifiedToken | Refusal | None:
    """Check the caller of a CDS Hooks call: its token, a refusal to answer, or None (anonymous)."""
    verifier: TokenVerifier = app.extensions[VERIFIER_KEY]
    security: dict[str, Any] = app.config["PLUGIN"]["security"]
    if not security["require_jwt"] and (not authorization or not verifier.issuers):
        # Development mode (or JWT optional and none sent): the caller stays anonymous, and the
        # fetch policy then allows nothing but loopback FHIR servers (or nothing, with issuers).
        return None
    try:
        token = verifier.bearer_token(authorization)
        return verifier.verify(token, audiences())
    except AuthError as err:
        log.warning(
            "CDS Hooks call refused (401): %s; path=%s iss=%s jti=%s remote=%s",
            err.reason,
            path,
            err.iss,
            err.jti,
            remote_addr,
        )
        return responses.unauthorized_refusal(err.remedy)
    except (SQLAlchemyError, ReplayStoreError):
        # Without the replay store a replayed token could pass: refuse, but say it is on our side.
        log.exception("JWT replay store unavailable; refusing %s", path)
        return responses.UNAVAILABLE


def remember_caller(token: VerifiedToken | None) -> None:
    """Keep the verified caller on flask.g for the fetch policy and the audit line."""
    if token is not None:
        g.cds_issuer = token.iss
        g.cds_token = token


def _warn_about_mode(app: Flask) -> None:
    settings = app.config["PLUGIN"]
    if development_mode(settings):
        log.warning(
            "\n%s\nDEVELOPMENT MODE: CDS Hooks calls are NOT authenticated (security.require_jwt = false, "
            "no [[security.issuers]]).\nAnyone who can reach this port can call the services; only loopback "
            "FHIR servers are fetched.\nDo not expose this instance; see docs/security.md."
            "\n%s",
            "!" * 100,
            "!" * 100,
        )
    if settings["security"]["issuers"] and not settings["server"]["public_base_url"]:
        log.warning(
            "server.public_base_url is not set: a JWT's `aud` is compared with the URL built from the "
            "Host header the caller sends, so a token minted for another service at the same path could "
            "be presented here with that service's Host. Set server.public_base_url in production."
        )
    if not development_mode(settings) and not settings["security"]["require_jwt"]:
        log.warning(
            "security.require_jwt = false: CDS Hooks calls without a token are accepted (tokens that are "
            "sent are verified); such calls may not fetch from any FHIR server."
        )


def init_app(app: Flask) -> None:
    """Register this area's hooks and error handlers on the app."""
    settings = app.config["PLUGIN"]
    limit = int(settings["limits"]["max_body_bytes"])
    app.config["MAX_CONTENT_LENGTH"] = limit
    config_dir = Path(settings["_file"]).parent if settings.get("_file") else Path.cwd()

    def claim_jti(iss: str, jti: str, expires_at: int) -> bool:
        from plugin.storage import get_store

        return get_store(app).claim_jti(iss, jti, expires_at)

    verifier = TokenVerifier(settings["security"], config_dir, claim_jti)
    app.extensions[VERIFIER_KEY] = verifier
    audit.configure_audit_log(app)
    app.extensions[BODY_LIMIT_KEY] = limit
    _warn_about_mode(app)

    @app.before_request
    def _security_gate() -> Response | None:
        if cors.is_preflight():
            return cors.preflight_response(app)
        if request.content_length is not None and request.content_length > limit:
            return responses.too_large(limit)
        return None

    @app.after_request
    def _security_after(response: Response) -> Response:
        return cors.add_cors_headers(app, response)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_err: RequestEntityTooLarge) -> Response:
        # Anything werkzeug itself refuses for size (e.g. form parts) is answered like our own check.
        return responses.too_large(limit)
