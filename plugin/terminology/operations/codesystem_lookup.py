"""CodeSystem/$lookup - http://hl7.org/fhir/R5/codesystem-operation-lookup.html

Supported input: system + code (+ version), coding, id (instance level), property (repeating;
`*` for all), displayLanguage (and Accept-Language), useSupplement, the version rules, tx-resource.
Output (R5): name, version, display, definition, abstract, designation (language, use, value,
source), property (code, value, description for parent/child), plus code, system, used-supplement.
CPT codes may carry modifiers (`33952:62`, see cpt.py).
"""

from __future__ import annotations

from typing import Any

from plugin.terminology import cpt, messages
from plugin.terminology.errors import TxError, bad_request, not_found, supplements_missing
from plugin.terminology.model import versioning
from plugin.terminology.model.codesystem import CodeSystemView
from plugin.terminology.model.context import TxContext
from plugin.terminology.model.lookup_result import describe
from plugin.terminology.model.parameters import ParsedParameters
from plugin.terminology.validate.findings import unknown_code_error


def lookup(ctx: TxContext, params: ParsedParameters, instance_id: str | None = None) -> dict[str, Any]:
    """The handler: the code system and code from the parameters (or the instance), then `lookup_code`."""
    coding = params.value("coding") if isinstance(params.value("coding"), dict) else {}
    code = params.string("code") or coding.get("code")
    system = params.string("system") or coding.get("system")
    version = params.string("version") or coding.get("version")
    if instance_id is not None:
        resource = ctx.registry.by_id("CodeSystem", instance_id)
        if resource is None:
            raise not_found(f"CodeSystem/{instance_id} is not known")
        system, version = resource.get("url"), resource.get("version")
    if not code:
        raise bad_request("Must provide a code (code + system, or coding)", expression=["code"])
    if not system:
        raise bad_request("Must provide the code system (system, or coding.system)", expression=["system"])
    view = ctx.code_system(system, version)
    if view is None:
        raise unknown_system(ctx, system, ctx.determine_version(system, version))
    return lookup_code(ctx, view, code)


def lookup_code(ctx: TxContext, view: CodeSystemView, code: str) -> dict[str, Any]:
    """$lookup of one code in one code system view, as a Parameters resource (R5 shape). CPT codes with
    modifiers (`33952:62`) are looked up as expressions."""
    missing = ctx.missing_supplements()
    if missing:
        raise supplements_missing(missing, status=400)
    if cpt.is_postcoordinated(view, code):
        return cpt.lookup(ctx, view, code)
    concept = view.locate(code)
    if concept is None:
        raise unknown_code_error(view, code, "code")
    return describe(ctx, view, concept).build()


def unknown_system(ctx: TxContext, system: str, version: str | None) -> TxError:
    """The error for a code system the context does not hold (or holds only a supplement of)."""
    if ctx.supplement_resource(system, version) is not None:
        text = messages.render("CODESYSTEM_CS_NO_SUPPLEMENT", system)
        return TxError(400, "CODESYSTEM_CS_NO_SUPPLEMENT", text, code="invalid", tx_type="invalid-data")
    if not version:
        return TxError(
            404,
            "UNKNOWN_CODESYSTEM",
            messages.render("UNKNOWN_CODESYSTEM", system),
            code="not-found",
            tx_type="not-found",
            expression="system",
        )
    known = ctx.code_system_versions(system)
    message_id = "UNKNOWN_CODESYSTEM_VERSION" if known else "UNKNOWN_CODESYSTEM_VERSION_NONE"
    text = messages.render(message_id, system, version, versioning.present_versions(known))
    return TxError(404, message_id, text, code="not-found", tx_type="not-found", expression="system")
