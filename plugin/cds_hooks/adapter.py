"""The HTTP adapter of the CDS Hooks service: every request under /cds-services, in one sequence.

    gate      CORS preflight (204, no credentials asked) -> body size (413) -> caller (JWT: 401/503)
    dispatch  discovery (GET), service call (POST /{id}), feedback (POST /{id}/feedback);
              unknown service 404, unknown path 404, any other method 405 with Allow
    CORS      Access-Control-* headers on every answer, errors and refusals included
    audit     one line (and row) per POST call or feedback, refused ones too, from the facts the
              handler returned

It is plain WSGI, not a Flask view. EHRs call the service on every order selection and signature, so
the service call is the product's hot path; Flask's request and response objects, URL routing and
request context cost about 70 us a request on a 2-core machine, a fifth of a whole call. The adapter
still runs inside an app context, so `g`, `current_app` and the fetch policy work as in a view. It is
mounted by create_app (plugin/app.py), which composes the whole WSGI stack in one place: paths arrive
here with doubled slashes collapsed and chunked bodies buffered. Any failure is a JSON 500 whose error
id is in the log line (plugin.errors).

The routes are data (`routes()`), so the OpenAPI document is built from them and a test checks that
each documented method answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from http import HTTPStatus
from typing import Any

import orjson
from flask import Flask, g
from werkzeug.wrappers import Request

from plugin import errors, security
from plugin.cds_hooks.feedback import accept_feedback
from plugin.cds_hooks.pipeline import CdsError, CdsHooks, parse_body, precondition_outcome, run
from plugin.cds_hooks.prefetch import PatientUnavailableError
from plugin.cds_hooks.services import Service
from plugin.http import SENT_PATH_KEY
from plugin.security import audit, cors, responses
from plugin.security.jwt_auth import VerifiedToken

PREFIX = "/cds-services"
JSON = ("Content-Type", "application/json")
_HOST_KEYS = ("wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME")
_DISCOVERY_METHODS = "GET, HEAD, OPTIONS"
_SERVICE_METHODS = "POST"


@dataclass
class Answer:
    """One answer: status, body (None: no body) and headers, and what its audit line records."""

    status: int
    body: bytes | None
    headers: list[tuple[str, str]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    cors: bool = True  # False for a preflight, whose answer is all CORS headers already


@dataclass(frozen=True)
class Route:
    """A documented route: the path template (as OpenAPI writes it) and the methods that serve it."""

    path: str
    methods: tuple[str, ...]
    kind: str  # "discovery" | "call" | "feedback"
    service: Service | None = None


def routes(cds: CdsHooks) -> list[Route]:
    """Every path and method the adapter serves; any other method on these paths is a 405."""
    found = [Route(PREFIX, ("GET",), "discovery")]
    for service in cds.catalog.services:
        found.append(Route(f"{PREFIX}/{service.id}", ("POST",), "call", service))
        found.append(Route(f"{PREFIX}/{service.id}/feedback", ("POST",), "feedback", service))
    return found


def json_answer(status: int, body: Any, facts: dict[str, Any] | None = None) -> Answer:
    return Answer(status, orjson.dumps(body), [JSON], facts or {})


def error_answer(exc: CdsError) -> Answer:
    extra = {"field": exc.field} if exc.field else {}
    return json_answer(exc.status, {"error": exc.code, "message": exc.message, **extra})


@cache
def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Error"


def _media_type(environ: dict[str, Any]) -> str:
    return (environ.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()


def _content_length(environ: dict[str, Any]) -> int:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _read_body(environ: dict[str, Any]) -> bytes:
    length = _content_length(environ)
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _json_or_none(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def split_path(path: str) -> tuple[str, ...] | None:
    """The segments after /cds-services (one trailing slash ignored), or None outside the prefix."""
    if path != PREFIX and not path.startswith(PREFIX + "/"):
        return None
    rest = path[len(PREFIX) :].strip("/") if path.endswith("/") else path[len(PREFIX) :].lstrip("/")
    # WSGI hands over the path as latin-1; Flask routes see it decoded as UTF-8, and so do we.
    return tuple(rest.encode("latin-1").decode("utf-8", "replace").split("/")) if rest else ()


class CdsHttpAdapter:
    """WSGI app for /cds-services (see the module docstring for the sequence)."""

    def __init__(self, app: Flask, cds: CdsHooks) -> None:
        self.app = app
        self.cds = cds
        self.limit: int = app.extensions[security.BODY_LIMIT_KEY]
        self._discovery = orjson.dumps(cds.catalog.discovery())
        self._host_urls: dict[tuple[Any, ...], str] = {}
        self._audience_lists: dict[tuple[Any, ...], list[str]] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        method: str = environ.get("REQUEST_METHOD") or "GET"
        path: str = environ.get("PATH_INFO") or ""
        try:
            with self.app.app_context():
                parts = split_path(path) or ()
                answer = self._gate(environ, method, path) or self._dispatch(environ, method, path, parts)
                if answer.cors:
                    answer.headers += cors.cors_headers(self.app, environ.get("HTTP_ORIGIN"))
                self._audit(method, parts, answer, started)
        except Exception as exc:  # noqa: BLE001 - a failure anywhere is still JSON with an error id
            answer = json_answer(500, errors.internal_error_body(errors.log_unexpected(method, path, exc)))
        body = answer.body or b""
        headers = answer.headers
        if answer.body is not None:
            headers.append(("Content-Length", str(len(body))))
        start_response(_status_line(answer.status), headers)
        return [] if method == "HEAD" else [body]

    # -- gate ------------------------------------------------------------------------------------

    def _gate(self, environ: dict[str, Any], method: str, path: str) -> Answer | None:
        """What every /cds-services request passes first: preflight, body size, then the caller."""
        preflight = "HTTP_ORIGIN" in environ and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
        if method == "OPTIONS" and preflight:
            headers = cors.preflight_headers(self.app, environ.get("HTTP_ORIGIN"))
            return Answer(204, None, headers, cors=False)
        if _content_length(environ) > self.limit:
            return self._refusal(responses.too_large_refusal(self.limit))
        outcome = security.authenticate(
            self.app,
            environ.get("HTTP_AUTHORIZATION"),
            lambda: self._audiences(environ),
            path,
            environ.get("REMOTE_ADDR"),
        )
        if isinstance(outcome, responses.Refusal):
            return self._refusal(outcome)
        if isinstance(outcome, VerifiedToken):
            security.remember_caller(outcome)
        return None

    def _audiences(self, environ: dict[str, Any]) -> list[str]:
        # Only called for a request that carries a token: the URL is built as Flask's request builds
        # it. That is a function of a few environ values (host, scheme, script, path), and a service
        # is called at few URLs, so each answer is kept (a bounded number), as _base_url keeps its own.
        key = (*(environ.get(k) for k in _HOST_KEYS), environ.get("PATH_INFO"), environ.get(SENT_PATH_KEY))
        found = self._audience_lists.get(key)
        if found is None:
            request = Request(environ)
            found = security.audiences_for(self.app, request.path, lambda: request.base_url, environ)
            if len(self._audience_lists) < 256:
                self._audience_lists[key] = found
        return list(found)

    @staticmethod
    def _refusal(refusal: responses.Refusal) -> Answer:
        return Answer(refusal.status, orjson.dumps(refusal.body), [JSON, *refusal.headers])

    # -- dispatch --------------------------------------------------------------------------------

    def _dispatch(self, environ: dict[str, Any], method: str, path: str, parts: tuple[str, ...]) -> Answer:
        if not parts:
            if method in ("GET", "HEAD"):
                return Answer(200, self._discovery, [JSON])
            return self._not_allowed(method, path, _DISCOVERY_METHODS)
        if len(parts) > 2 or (len(parts) == 2 and parts[1] != "feedback") or not parts[0]:
            message = errors.cds_not_found_message(method, path)
            return json_answer(404, {"error": "not-found", "message": message})
        service_id = parts[0]
        kind = "call" if len(parts) == 1 else "feedback"
        facts: dict[str, Any] = {"service": service_id, "hookInstance": None, "rules": []}
        try:
            service = self.cds.catalog.get(service_id)
            if service is None:
                raise CdsError(
                    404, "unknown-service", f"no CDS service with id {service_id!r}; see GET {PREFIX}"
                )
            if method != "POST":
                return self._not_allowed(method, path, _SERVICE_METHODS)
            if kind == "feedback":
                count = accept_feedback(self.app, self.cds, service, self._json_body(environ))
                return json_answer(200, {}, {**facts, "feedbackItems": count})
            return self._call(environ, service, facts)
        except CdsError as exc:
            answer = error_answer(exc)
            answer.facts = facts
            return answer

    def _call(self, environ: dict[str, Any], service: Service, facts: dict[str, Any]) -> Answer:
        body: Any = None
        try:
            body = self._json_body(environ)
            result = run(self.app, self.cds, service, body, self._base_url(environ))
            return Answer(200, orjson.dumps(result.response), [JSON], {**facts, **result.audit})
        except CdsError as exc:
            # A refused call is audited with the ids its body carried, as far as the body parsed; a
            # 415 body is parsed here only for that (the error path, so the call itself pays nothing).
            if exc.status == 415:
                body = _json_or_none(_read_body(environ))
            answer = error_answer(exc)
        except PatientUnavailableError as exc:
            reason = str(exc)
            outcome = precondition_outcome(reason)
            answer = json_answer(412, {"error": "precondition-failed", "message": reason, "outcome": outcome})
        except Exception as exc:  # noqa: BLE001 - answered and audited, never a bare 500 page
            error_id = errors.log_unexpected("POST", environ.get("PATH_INFO") or "", exc)
            answer = json_answer(500, errors.internal_error_body(error_id))
        audit.note_request_ids(facts, body)
        answer.facts = facts
        return answer

    def _json_body(self, environ: dict[str, Any]) -> Any:
        return parse_body(_media_type(environ), lambda: _read_body(environ))

    @staticmethod
    def _not_allowed(method: str, path: str, allowed: str) -> Answer:
        if method == "OPTIONS":  # not a preflight: say what the path takes
            return Answer(204, None, [("Allow", allowed)])
        message = f"{method} is not supported here; use {allowed.split(',')[0]}"
        answer = json_answer(405, {"error": "method-not-allowed", "message": message})
        answer.headers.append(("Allow", allowed))
        return answer

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

    # -- audit -----------------------------------------------------------------------------------

    def _audit(self, method: str, parts: tuple[str, ...], answer: Answer, started: float) -> None:
        """The audit line (and row) of a POST service call or feedback, whatever its answer."""
        if method != "POST" or not parts or not parts[0] or len(parts) > 2:
            return
        if len(parts) == 2 and parts[1] != "feedback":
            return
        event = "cds-hook-call" if len(parts) == 1 else "cds-feedback"
        latency_ms = (time.perf_counter() - started) * 1000.0
        token = g.get("cds_token")
        record = audit.build_record(event, parts[0], answer.facts, answer.status, latency_ms, token)
        audit.write_audit(self.app, record, answer.facts.get("issued"))
