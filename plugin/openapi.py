"""The OpenAPI 3.1 document of the whole HTTP surface, served at /openapi.json.

Prose, examples and responses are data (plugin/openapi.json), kept beside the code they describe.
What requests are accepted is taken from the code that accepts them, when the app is built, so the
document cannot promise more or less than the server takes:

- /cds-services: one path per service of the loaded catalog (the CDS adapter's `routes()`), each call
  with the JSON Schema of its hook and each feedback with the feedback schema, exactly the schemas
  the service validates with (cds_hooks/schemas, as OpenAPI 3.1 components);
- terminology operations: the type of every query parameter and a `Parameters` body schema per
  operation, from the operation's declared parameters (plugin/terminology/model/parameters.py);
- sandbox FHIR searches: one path per resource type with the search parameters that type takes
  (plugin/sandbox/search.py).

Tests check that every route of the app is documented with its methods, every documented method
answers, and that requests generated from the document as valid are mostly accepted.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app

from plugin.cds_hooks import EXTENSION_KEY as CDS_EXTENSION_KEY
from plugin.cds_hooks.adapter import routes
from plugin.cds_hooks.schemas import HOOK_SCHEMAS
from plugin.http import json_response
from plugin.openapi_fhir import fhir_operation_schemas
from plugin.openapi_sandbox import sandbox_search_schemas
from plugin.version import __version__

SPEC_FILE = Path(__file__).with_name("openapi.json")
EXTENSION_KEY = "openapi_document"
PREFORK_WARMUPS_KEY = "prefork_warmups"  # plugin.serving.WARMUPS_KEY (not imported: it loads gunicorn)
CDS_PREFIX = "/cds-services"
_TEMPLATE_CALL = "/cds-services/{service_id}"
_TEMPLATE_FEEDBACK = "/cds-services/{service_id}/feedback"

bp = Blueprint("openapi", __name__)


@cache
def _base_document() -> dict[str, Any]:
    return json.loads(SPEC_FILE.read_text(encoding="utf-8"))


def build_document(app: Flask) -> dict[str, Any]:
    """The document for this app: the data file, with what is accepted taken from the code."""
    document = copy.deepcopy(_base_document())
    document["info"]["version"] = __version__
    schemas = document["components"]["schemas"]
    cds = app.extensions.get(CDS_EXTENSION_KEY)
    templates = {p: document["paths"].pop(p) for p in (_TEMPLATE_CALL, _TEMPLATE_FEEDBACK)}
    if cds is None:
        document["paths"].pop(CDS_PREFIX, None)
    else:
        schemas.update(cds_components(cds.schemas.validators))
        document["paths"].update(cds_paths(cds, templates))
    fhir_operation_schemas(document)
    sandbox_search_schemas(document)
    return document


def openapi_document(app: Flask) -> dict[str, Any]:
    found: dict[str, Any] | None = app.extensions.get(EXTENSION_KEY)
    if found is None:
        found = app.extensions[EXTENSION_KEY] = build_document(app)
    return found


# --------------------------------------------------------------------------------------------------
# CDS Hooks: the schemas the service validates with, as components


def component_name(document: str, definition: str | None = None) -> str:
    """ "request-order-sign.schema.json" -> "cds-request-order-sign"; a $defs entry adds "-{name}"."""
    base = "cds-" + document.removesuffix(".schema.json")
    return f"{base}-{definition}" if definition else base


def _rewrite_refs(node: Any, document: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in ("$schema", "$id"):
                continue
            if key == "$ref" and isinstance(value, str):
                target, _, pointer = value.partition("#")
                owner = target or document
                definition = pointer.removeprefix("/$defs/") if pointer.startswith("/$defs/") else None
                out[key] = "#/components/schemas/" + component_name(owner, definition)
            elif key == "$defs":
                continue
            else:
                out[key] = _rewrite_refs(value, document)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, document) for item in node]
    return node


def cds_components(validators: dict[str, Any]) -> dict[str, Any]:
    """Every CDS JSON Schema (but the rule schema, which is content, not API) and its $defs."""
    components: dict[str, Any] = {}
    for name, validator in validators.items():
        if name == "rule.schema.json":
            continue
        schema = validator.schema
        components[component_name(name)] = _rewrite_refs(schema, name)
        for definition, sub in schema.get("$defs", {}).items():
            components[component_name(name, definition)] = _rewrite_refs(sub, name)
    return components


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _for_service(template: dict[str, Any], service: Any, kind: str, body_schema: str) -> dict[str, Any]:
    operation = copy.deepcopy(template)
    operation["parameters"] = [p for p in operation.get("parameters", []) if p.get("name") != "service_id"]
    if not operation["parameters"]:
        del operation["parameters"]
    operation["operationId"] = f"{operation['operationId']}-{service.id}"
    title = service.definition.get("title") or service.id
    operation["summary"] = f"{operation['summary']}: {title} ({service.hook})"
    content = operation["requestBody"]["content"]["application/json"]
    content["schema"] = _ref(body_schema)
    if kind == "call":
        example = content.get("example")
        if isinstance(example, dict):  # the template's example is an order-sign call
            if example.get("hook") == service.hook:
                content["example"] = example
            else:
                content.pop("example", None)
    return operation


def cds_paths(cds: Any, templates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A path per service call and feedback of the loaded catalog (adapter.routes), POST only."""
    paths: dict[str, Any] = {}
    for route in routes(cds):
        if route.service is None:
            continue
        if route.kind == "call":
            schema = component_name(HOOK_SCHEMAS[route.service.hook])
            operation = _for_service(templates[_TEMPLATE_CALL]["post"], route.service, "call", schema)
        else:
            schema = component_name("feedback.schema.json")
            operation = _for_service(templates[_TEMPLATE_FEEDBACK]["post"], route.service, "feedback", schema)
        paths[route.path] = {"post": operation}
    return paths


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return json_response(openapi_document(current_app))


def init_app(app: Flask) -> None:
    """Register /openapi.json; called after the areas whose content the document describes."""
    app.register_blueprint(bp)
    # Built once per app (about 60 ms), before gunicorn forks when it preloads (plugin/serving.py).
    app.extensions.setdefault(PREFORK_WARMUPS_KEY, []).append(lambda: openapi_document(app))
