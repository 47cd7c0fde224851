"""HTTP for the terminology API: `/fhir` (FHIR R4 4.0.1) and `/fhir/r5` (R5 5.0.0), same engine.

Handlers are thin: negotiate the format, parse parameters (GET query, form post or Parameters body),
build the request's registry overlay from `tx-resource`, call the operation's pure function, shape
the result for the endpoint's FHIR version. Every failure is an OperationOutcome.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.exceptions import MethodNotAllowed, NotFound

from plugin.http import fhir_response
from plugin.operation_outcome import register_error_handlers
from plugin.terminology import convert
from plugin.terminology.app_registry import get_registry
from plugin.terminology.errors import bad_request, not_found, not_supported
from plugin.terminology.expand.paging import DEFAULT_LIMIT
from plugin.terminology.model.context import TxContext, TxOptions
from plugin.terminology.model.parameters import ParsedParameters, from_body, from_query, query_pairs
from plugin.terminology.model.registry import LoadError, Registry
from plugin.terminology.operations import (
    capabilities,
    codesystem_lookup,
    codesystem_subsumes,
    codesystem_validate_code,
    conceptmap_translate,
    search,
    valueset_batch_validate_code,
    valueset_expand,
    valueset_validate_code,
    versions,
)

R4, R5 = "4.0.1", "5.0.0"
# Operations with a required resource parameter (http://hl7.org/fhir/R5/operations.html#executing).
POST_ONLY = {"batch-validate-code"}
PREFIXES = {"/fhir/r5": R5, "/fhir": R4}
_JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir", "text/json")
_FORMAT_OK = {"json", "application/json", "application/fhir+json", "application/json+fhir", "text/json"}


def make_blueprint(name: str, prefix: str, fhir_version: str) -> Blueprint:
    bp = Blueprint(name, __name__, url_prefix=prefix)
    register_error_handlers(bp)

    @bp.before_request
    def _negotiate() -> None:
        g.fhir_version = fhir_version
        g.fhir_base = request.host_url.rstrip("/") + prefix
        fmt = request.args.get("_format")
        if fmt is not None and fmt.split(";")[0].strip().lower() not in _FORMAT_OK:
            raise not_supported(
                406,
                f"_format '{fmt}' is not supported; this server speaks application/fhir+json",
            )
        if fmt is None and not _accepts_json():
            raise not_supported(
                406,
                f"Cannot produce {request.headers.get('Accept')}; this server speaks application/fhir+json",
            )

    def operation(
        name: str,
        func: Callable[..., dict[str, Any]],
        shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ):  # type: ignore[no-untyped-def]
        def handler(resource_id: str | None = None) -> Response:
            params = _parameters(name)
            ctx = _context(params)
            # $expand alone also takes the size limit, which comes from configuration and a header.
            extra = {"limit": _expansion_limit()} if name == "expand" else {}
            result = func(ctx, params, resource_id, **extra)
            if fhir_version == R4 and shape is not None:
                result = shape(result)
            return fhir_response(result)

        return handler

    routes = [
        ("CodeSystem", "lookup", "lookup", codesystem_lookup.lookup, None),
        (
            "CodeSystem",
            "validate-code",
            "codesystem-validate-code",
            codesystem_validate_code.validate_code,
            None,
        ),
        ("CodeSystem", "subsumes", "subsumes", codesystem_subsumes.subsumes, None),
        ("ValueSet", "expand", "expand", valueset_expand.expand, convert.value_set_to_r4),
        ("ValueSet", "validate-code", "valueset-validate-code", valueset_validate_code.validate_code, None),
        (
            "ValueSet",
            "batch-validate-code",
            "batch-validate-code",
            valueset_batch_validate_code.batch_validate,
            None,
        ),
        (
            "ConceptMap",
            "translate",
            "translate",
            conceptmap_translate.translate,
            convert.translate_result_to_r4,
        ),
    ]
    for rtype, op, table, func, shape in routes:
        view = operation(table, func, shape)
        endpoint = f"{rtype}_{op}".replace("-", "_")
        # FHIR invokes an operation by GET only when all its parameters are primitive: the resources
        # $batch-validate-code needs (`validation`) cannot ride in a query string, so it is POST only.
        methods = ["POST"] if op in POST_ONLY else ["GET", "POST"]
        bp.add_url_rule(f"/{rtype}/${op}", endpoint, view, methods=methods)
        bp.add_url_rule(f"/{rtype}/<resource_id>/${op}", f"{endpoint}_instance", view, methods=methods)

    @bp.get("/metadata")
    def metadata() -> Response:
        mode = request.args.get("mode")
        return fhir_response(capabilities.metadata(_endpoint_registry(), g.fhir_base, fhir_version, mode))

    @bp.get("/$versions")
    def fhir_versions() -> Response:
        return fhir_response(versions.versions(fhir_version))

    def search_view(resource_type: str) -> Callable[[], Response]:
        def view() -> Response:
            pairs = query_pairs(request.args)
            return fhir_response(search.search(_endpoint_registry(), resource_type, pairs, g.fhir_base))

        return view

    def read_view(resource_type: str) -> Callable[[str], Response]:
        def view(resource_id: str) -> Response:
            # A FHIR id has no `$`: this is a POST-only operation asked for by GET (`$batch-validate-code`).
            if resource_id.startswith("$") and resource_id[1:] in POST_ONLY:
                raise MethodNotAllowed(valid_methods=["POST"])
            return fhir_response(search.read(_endpoint_registry(), resource_type, resource_id))

        return view

    for rtype in search.SEARCHABLE:
        bp.add_url_rule(f"/{rtype}", f"search_{rtype}", search_view(rtype), methods=["GET"])
        bp.add_url_rule(f"/{rtype}/<resource_id>", f"read_{rtype}", read_view(rtype), methods=["GET"])
    return bp


def _accepts_json() -> bool:
    accept = request.headers.get("Accept", "")
    if not accept.strip():
        return True
    for item in accept.split(","):
        media = item.split(";")[0].strip().lower()
        if media in ("*/*", "application/*", "text/*") or media in _JSON_TYPES or media.endswith("+json"):
            return True
    return False


def _parameters(operation: str) -> ParsedParameters:
    if request.method == "GET":
        return from_query(operation, [(k, v) for k, v in query_pairs(request.args) if k != "_format"])
    media = (request.mimetype or "").lower()
    query = [(k, v) for k, v in query_pairs(request.args) if k != "_format"]
    if media == "application/x-www-form-urlencoded":
        return from_query(operation, query + query_pairs(request.form))
    body = request.get_data(cache=False)
    if not body.strip():
        if media and media not in _JSON_TYPES:
            raise not_supported(415, f"Content-Type {media} is not supported")
        return from_query(operation, query)
    if media not in _JSON_TYPES and not media.endswith("+json"):
        raise not_supported(
            415,
            f"Content-Type '{request.content_type or '(none)'}' is not supported; send application/fhir+json",
        )
    return from_body(operation, body, query)


def _context(params: ParsedParameters) -> TxContext:
    registry = _endpoint_registry().overlay()
    for index, resource in enumerate(params.resources("tx-resource")):
        try:
            registry.add(resource, f"tx-resource[{index}]")
        except LoadError as exc:
            raise bad_request(str(exc), expression=[f"tx-resource[{index}]"]) from exc
    options = TxOptions.from_parameters(params, request.headers.get("Accept-Language"))
    return TxContext(registry, options, "R5" if g.fhir_version == R5 else "R4")


def _endpoint_registry() -> Registry:
    return get_registry(fhir_version="R5" if g.fhir_version == R5 else "R4")


def _expansion_limit() -> int:
    """How many codes an unpaged expansion may hold: `[terminology] expansion_limit`, which the
    X-TOO-COSTLY-THRESHOLD request header (as Ontoserver knows it) may lower but never raise."""
    configured = current_app.config["PLUGIN"].get("terminology", {}).get("expansion_limit", DEFAULT_LIMIT)
    if isinstance(configured, bool) or not isinstance(configured, int) or configured < 1:
        configured = DEFAULT_LIMIT
    header = request.headers.get("X-TOO-COSTLY-THRESHOLD")
    if header and header.strip().isdigit():
        return max(1, min(configured, int(header)))
    return configured


def register(app: Flask) -> None:
    app.register_blueprint(make_blueprint("fhir_r5", "/fhir/r5", R5))
    app.register_blueprint(make_blueprint("fhir_r4", "/fhir", R4))

    def _outcome_for_path(status: int, text: str) -> Response | None:
        path = request.path
        if any(path == p or path.startswith(p + "/") for p in PREFIXES):
            error = not_found(text) if status == 404 else not_supported(status, text)
            return fhir_response(error.to_resource(), status)
        return None

    # Routing errors happen before any blueprint is chosen, so they are handled app-wide; another
    # area's handler for the same status keeps working for paths outside /fhir.
    previous_404 = app.error_handler_spec.get(None, {}).get(404, {}).get(NotFound)
    previous_405 = app.error_handler_spec.get(None, {}).get(405, {}).get(MethodNotAllowed)

    @app.errorhandler(404)
    def _not_found(err: Any) -> Any:
        found = _outcome_for_path(404, f"No such resource or operation: {request.method} {request.path}")
        if found is not None:
            return found
        return previous_404(err) if previous_404 else err

    @app.errorhandler(405)
    def _not_allowed(err: Any) -> Any:
        found = _outcome_for_path(405, f"Method {request.method} is not allowed on {request.path}")
        if found is not None:
            if getattr(err, "valid_methods", None):
                found.headers["Allow"] = ", ".join(err.valid_methods)
            return found
        return previous_405(err) if previous_405 else err
