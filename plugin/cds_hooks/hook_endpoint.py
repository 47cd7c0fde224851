"""POST /cds-services/{id}, the service call, answered at the WSGI level.

EHRs call this on every order selection and signature, so it is the one hot path of the service.
Flask's request and response objects, URL routing and request context cost about 70 us a request
on a 2-core machine (a bare Flask JSON endpoint 110 us in-process, the same endpoint in plain WSGI
38 us), a fifth of the whole call. Here the call runs the same steps as the Flask routes, in the
same order, with the same functions, and only the plumbing is plain WSGI:

  body size (413) -> caller (JWT, 401/503) -> service (404) -> media type (415) -> JSON (400)
  -> pipeline.run (400/412) -> CORS headers -> audit line and row

It runs inside an app context, so `g`, `current_app` and the fetch policy work as in a view. Paths
arrive with doubled slashes collapsed (plugin.http.CollapseSlashes wraps this), and any failure, here
or in the pipeline, is a JSON 500 whose error id is in the log line (plugin.errors).
Discovery, feedback, preflights and other methods stay with the Flask blueprint (blueprint.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from flask import Flask, g
from werkzeug.wrappers import Request

from plugin import errors, security
from plugin.cds_hooks.pipeline import CdsError, CdsHooks, parse_body, precondition_outcome, run
from plugin.cds_hooks.prefetch import PatientUnavailableError
from plugin.security import audit, cors, responses
from plugin.security.body_limit import buffer_chunked_body
from plugin.security.jwt_auth import VerifiedToken

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
PREFIX = "/cds-services/"
_STATUS = {
    200: "200 OK",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    404: "404 Not Found",
    412: "412 Precondition Failed",
    413: "413 Request Entity Too Large",
    415: "415 Unsupported Media Type",
    500: "500 Internal Server Error",
    503: "503 Service Unavailable",
}
_HOST_KEYS = ("wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME")


def service_call_id(environ: dict[str, Any]) -> str | None:
    """The service id when this request is a service call (POST /cds-services/{id}), else None."""
    if environ.get("REQUEST_METHOD") != "POST":
        return None
    path: str = environ.get("PATH_INFO") or ""
    if not path.startswith(PREFIX):
        return None
    service_id = path[len(PREFIX) :]
    if service_id.endswith("/"):  # as Flask's route did: /cds-services/{id}/ is the same call
        service_id = service_id[:-1]
    if not service_id or "/" in service_id:
        return None  # feedback, or a path the blueprint answers
    # WSGI hands over the path as latin-1; Flask routes see it decoded as UTF-8, and so do we.
    return service_id.encode("latin-1").decode("utf-8", "replace")


def _media_type(environ: dict[str, Any]) -> str:
    return (environ.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _json_or_none(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


class HookEndpoint:
    """WSGI middleware: service calls are answered here, every other request goes to `wrapped`."""

    def __init__(self, app: Flask, cds: CdsHooks, wrapped: WsgiApp) -> None:
        self.app = app
        self.cds = cds
        self.wrapped = wrapped
        self.limit: int = app.extensions[security.BODY_LIMIT_KEY]
        self._host_urls: dict[tuple[Any, ...], str] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        service_id = service_call_id(environ)
        if service_id is None:
            return self.wrapped(environ, start_response)
        started = time.perf_counter()
        try:
            with self.app.app_context():
                g.cds_audit = {"service": service_id, "hookInstance": None, "rules": []}
                status, body, headers = self._answer(environ, service_id)
                headers += cors.cors_headers(self.app, environ.get("HTTP_ORIGIN"))
                left = g.cds_audit  # the pipeline's, once it validated the request
                record = audit.build_record(
                    "cds-hook-call",
                    service_id,
                    left,
                    status,
                    (time.perf_counter() - started) * 1000.0,
                    g.get("cds_token"),
                )
                audit.write_audit(self.app, record, left.get("issued"))
        except Exception as exc:  # noqa: BLE001 - a failure outside _answer is still JSON with an error id
            error_id = errors.log_unexpected("POST", environ.get("PATH_INFO") or "", exc)
            status, body, headers = self._json(500, errors.internal_error_body(error_id))
        headers.append(("Content-Length", str(len(body))))
        start_response(_STATUS.get(status) or f"{status} Error", headers)
        return [body]

    # ----------------------------------------------------------------------------------------------

    def _answer(self, environ: dict[str, Any], service_id: str) -> tuple[int, bytes, list[tuple[str, str]]]:
        refusal = self._gate(environ)
        if refusal is not None:
            return self._refusal(refusal)
        body: Any = None
        try:
            service = self.cds.catalog.get(service_id)
            if service is None:
                raise CdsError(
                    404, "unknown-service", f"no CDS service with id {service_id!r}; see GET /cds-services"
                )
            body = parse_body(_media_type(environ), lambda: _read_body(environ))
            result = run(self.app, self.cds, service, body, self._base_url(environ))
            return 200, orjson.dumps(result), [("Content-Type", "application/json")]
        except CdsError as exc:
            # A refused call is audited with the ids its body carried, as far as the body parsed; a
            # 415 body is parsed here only for that (the error path, so the call itself pays nothing).
            if exc.status == 415:
                body = _json_or_none(_read_body(environ))
            audit.note_request_ids(g.cds_audit, body)
            extra = {"field": exc.field} if exc.field else {}
            return self._json(exc.status, {"error": exc.code, "message": exc.message, **extra})
        except PatientUnavailableError as exc:
            message = str(exc)
            outcome = precondition_outcome(message)
            return self._json(412, {"error": "precondition-failed", "message": message, "outcome": outcome})
        except Exception as exc:  # noqa: BLE001 - answered and logged, never a bare 500 page
            error_id = errors.log_unexpected("POST", environ.get("PATH_INFO") or "", exc)
            return self._json(500, errors.internal_error_body(error_id))

    def _gate(self, environ: dict[str, Any]) -> responses.Refusal | None:
        """What the security area's before_request does for a Flask route: size, then the caller."""
        buffer_chunked_body(environ, self.limit)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > self.limit:
            return responses.too_large_refusal(self.limit)
        outcome = security.authenticate(
            self.app,
            environ.get("HTTP_AUTHORIZATION"),
            lambda: self._audiences(environ),
            environ.get("PATH_INFO") or "",
            environ.get("REMOTE_ADDR"),
        )
        if isinstance(outcome, responses.Refusal):
            return outcome
        if isinstance(outcome, VerifiedToken):
            security.remember_caller(outcome)
        return None

    def _audiences(self, environ: dict[str, Any]) -> list[str]:
        # Only called for a request that carries a token: the URL is built as Flask's request builds it.
        request = Request(environ)
        return security.audiences_for(self.app, request.path, lambda: request.base_url, environ)

    def _base_url(self, environ: dict[str, Any]) -> str:
        configured = self.app.config["PLUGIN"]["server"].get("public_base_url")
        if configured:
            return configured.rstrip("/")
        # Request.host_url rebuilds (and IRI-decodes) the URL; it is a function of these environ
        # values, and a server sees few distinct ones, so each answer is kept (a bounded number).
        key = tuple(environ.get(k) for k in _HOST_KEYS)
        found = self._host_urls.get(key)
        if found is None:
            found = Request(environ).host_url.rstrip("/")
            if len(self._host_urls) < 256:
                self._host_urls[key] = found
        return found

    @staticmethod
    def _json(status: int, body: dict[str, Any]) -> tuple[int, bytes, list[tuple[str, str]]]:
        return status, orjson.dumps(body), [("Content-Type", "application/json")]

    @classmethod
    def _refusal(cls, refusal: responses.Refusal) -> tuple[int, bytes, list[tuple[str, str]]]:
        status, body, headers = cls._json(refusal.status, refusal.body)
        return status, body, headers + list(refusal.headers)
