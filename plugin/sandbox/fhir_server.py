"""/sandbox/fhir: a read-only FHIR R4 server over the sandbox patients.

It answers reads (`Type/id`) and the searches the CDS prefetch templates use (see search.py), so a
CDS request sent without prefetch can be served end to end by fetching from here. Errors are
OperationOutcomes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from plugin.http import fhir_response
from plugin.operation_outcome import register_error_handlers
from plugin.sandbox.search import SEARCH_PARAMS, searchset
from plugin.sandbox.store import get_sandbox_store
from plugin.version import __version__

bp = Blueprint("sandbox_fhir", __name__, url_prefix="/sandbox/fhir")
register_error_handlers(bp)


def base_url() -> str:
    configured = get_public_base()
    root = configured.rstrip("/") if configured else request.host_url.rstrip("/")
    return f"{root}/sandbox/fhir"


def get_public_base() -> str | None:
    from flask import current_app

    return current_app.config["PLUGIN"].get("server", {}).get("public_base_url")


@bp.get("/metadata")
def metadata() -> Any:
    resources = [
        {
            "type": kind,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [{"name": "_id", "type": "token"}]
            + [{"name": name, "type": spec[0]} for name, spec in params.items()],
        }
        for kind, params in SEARCH_PARAMS.items()
    ]
    return fhir_response(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-11-25",
            "kind": "instance",
            "software": {"name": "cpt-plugin sandbox FHIR server", "version": __version__},
            "implementation": {"description": "Synthetic and imported sandbox patients", "url": base_url()},
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [{"mode": "server", "resource": resources}],
        }
    )


@bp.get("/<kind>/<rid>")
def read(kind: str, rid: str) -> Any:
    return fhir_response(get_sandbox_store().index.read(kind, rid))


@bp.route("/<kind>", methods=["GET"])
def search(kind: str) -> Any:
    params = list(request.args.items(multi=True))
    results = get_sandbox_store().index.search(kind, params)
    query = request.query_string.decode("utf-8", "replace")
    self_link = f"{base_url()}/{kind}" + (f"?{query}" if query else "")
    return fhir_response(searchset(results, base_url(), self_link))


@bp.route("/<kind>/_search", methods=["POST"])
def search_post(kind: str) -> Any:
    params = list(request.form.items(multi=True)) + list(request.args.items(multi=True))
    results = get_sandbox_store().index.search(kind, params)
    return fhir_response(searchset(results, base_url(), f"{base_url()}/{kind}"))
