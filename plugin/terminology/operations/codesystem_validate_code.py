"""CodeSystem/$validate-code - http://hl7.org/fhir/R5/codesystem-operation-validate-code.html

Supported input: url (or the coding's system), version, codeSystem (resource), id (instance
level), code, display, coding, codeableConcept, displayLanguage (and Accept-Language), abstract,
lenient-display-validation, useSupplement, the version rules, tx-resource. The code system is
checked as the implicit value set of all its codes. Output: Parameters as ValueSet $validate-code.
"""

from __future__ import annotations

from typing import Any

from plugin.terminology import messages
from plugin.terminology.errors import TxError, bad_request, not_found
from plugin.terminology.model import versioning
from plugin.terminology.model.context import TxContext
from plugin.terminology.model.parameters import ParsedParameters
from plugin.terminology.model.resources import vurl
from plugin.terminology.operations.valueset_validate_code import coded_value
from plugin.terminology.validate.validation import ValueSetChecker
from plugin.terminology.validate.verdict import prepare_error_result, validate_codeable


def _system_path(mode: str) -> str:
    return {"code": "system", "coding": "Coding.system"}.get(mode, "CodeableConcept.coding[0].system")


def validate_code(ctx: TxContext, params: ParsedParameters, instance_id: str | None = None) -> dict[str, Any]:
    coded = coded_value(params, code_system=True)
    if coded is None:
        raise bad_request(
            "Unable to find code to validate (looked for coding | codeableConcept | code in parameters)"
        )
    concept, mode, path = coded
    ctx.options.infer_system = False
    first = (concept.get("coding") or [{}])[0]
    resource = _code_system(ctx, params, instance_id, first)
    if resource is None:
        system = first.get("system")
        if not system:
            raise bad_request("No code system given: use url, a codeSystem resource or the coding's system")
        return _unknown(ctx, system, first.get("version") or params.string("version"), concept, mode)
    if resource.get("content") == "supplement":
        text = messages.render("CODESYSTEM_CS_NO_SUPPLEMENT", vurl(resource))
        return prepare_error_result(
            ctx,
            TxError(
                400,
                "CODESYSTEM_CS_NO_SUPPLEMENT",
                text,
                code="invalid",
                tx_type="invalid-data",
                expression=_system_path(mode),
                unknown_system=resource.get("url"),
            ),
            concept,
            mode,
        )
    return validate_in_code_system(ctx, resource, concept, mode, path)


def validate_in_code_system(
    ctx: TxContext, resource: dict[str, Any], concept: dict[str, Any], mode: str, path: str
) -> dict[str, Any]:
    """$validate-code of a CodeableConcept (`mode` says how it was given: code, coding or codeableConcept)
    against the CodeSystem `resource`: membership of its implicit all-codes value set."""
    value_set: dict[str, Any] = {
        "resourceType": "ValueSet",
        "url": resource.get("valueSet") or f"{resource.get('url', '')}/vs",
        "status": "active",
        "compose": {"include": [{"system": resource.get("url")}]},
    }
    if resource.get("version"):
        value_set["version"] = resource["version"]
        value_set["compose"]["include"][0]["version"] = resource["version"]
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and not coding.get("system"):
            coding["system"] = resource.get("url")
    checker = ValueSetChecker(ctx, value_set, internal=True)
    return validate_codeable(checker, concept, mode, path)


def _code_system(
    ctx: TxContext, params: ParsedParameters, instance_id: str | None, first: dict[str, Any]
) -> dict[str, Any] | None:
    if instance_id is not None:
        found = ctx.registry.by_id("CodeSystem", instance_id)
        if found is None:
            raise not_found(f"CodeSystem/{instance_id} is not known")
        return found
    inline = params.resource("codeSystem")
    if inline is not None:
        ctx.registry.add(inline, "codeSystem parameter")
        return inline
    url = params.string("url") or first.get("system")
    if not url:
        return None
    version = ctx.determine_version(url, params.string("version") or first.get("version"))
    return ctx.code_system_resource(url, version)


def _unknown(
    ctx: TxContext, system: str, version: str | None, concept: dict[str, Any], mode: str
) -> dict[str, Any]:
    known = ctx.code_system_versions(system)
    if ctx.value_set(system) is not None:
        text = messages.render("Terminology_TX_System_ValueSet2", system)
        error = TxError(
            400,
            "Terminology_TX_System_ValueSet2",
            text,
            code="invalid",
            tx_type="invalid-data",
            expression=_system_path(mode),
        )
    elif not version:
        error = TxError(
            404,
            "UNKNOWN_CODESYSTEM",
            messages.render("UNKNOWN_CODESYSTEM", system),
            code="not-found",
            tx_type="not-found",
            expression=_system_path(mode),
            unknown_system=system,
        )
    elif known:
        text = messages.render(
            "UNKNOWN_CODESYSTEM_VERSION", system, version, versioning.present_versions(known)
        )
        error = TxError(
            404,
            "UNKNOWN_CODESYSTEM_VERSION",
            text,
            code="not-found",
            tx_type="not-found",
            expression=_system_path(mode),
            unknown_system=f"{system}|{version}",
        )
    else:
        text = messages.render("UNKNOWN_CODESYSTEM_VERSION_NONE", system, version, "")
        error = TxError(
            404,
            "UNKNOWN_CODESYSTEM_VERSION_NONE",
            text,
            code="not-found",
            tx_type="not-found",
            expression=_system_path(mode),
            unknown_system=system,
        )
    return prepare_error_result(ctx, error, concept, mode)
