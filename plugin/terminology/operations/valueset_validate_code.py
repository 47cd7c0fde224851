"""ValueSet/$validate-code - http://hl7.org/fhir/R5/valueset-operation-validate-code.html

Supported input: url, valueSetVersion, valueSet (resource), id (instance level), code + system
(+ systemVersion, display), coding, codeableConcept, inferSystem, activeOnly, abstract,
displayLanguage (and Accept-Language), lenient-display-validation, valueset-membership-only,
useSupplement, the version rules (system-version, check-, force-system-version,
default-valueset-version), tx-resource. CPT codes may be postcoordinated with modifiers
(`33952:62`): the base code decides membership, the modifiers are checked as well.
Output: Parameters (result, message, code, system, version, display, issues, ...).
"""

from __future__ import annotations

from typing import Any

from plugin.terminology.errors import TxError, bad_request, supplements_missing
from plugin.terminology.model.context import TxContext
from plugin.terminology.model.parameters import ParsedParameters
from plugin.terminology.operations import resolve_value_set
from plugin.terminology.validate.validation import ValueSetChecker
from plugin.terminology.validate.verdict import prepare_error_result, validate_codeable


def coded_value(params: ParsedParameters, *, code_system: bool) -> tuple[dict[str, Any], str, str] | None:
    """(CodeableConcept, mode, issue path) from codeableConcept | coding | code (+system)."""
    concept = params.value("codeableConcept")
    if isinstance(concept, dict):
        return concept, "codeableConcept", "CodeableConcept"
    coding = params.value("coding")
    if isinstance(coding, dict):
        return {"coding": [coding]}, "coding", "Coding"
    code = params.string("code")
    if code is None:
        return None
    if code_system:
        system = params.string("url") or params.string("system")
        version = params.string("version") or params.string("systemVersion")
    else:
        system = params.string("system")
        version = params.string("systemVersion") or params.string("version")
    item: dict[str, Any] = {"code": code}
    if system:
        item["system"] = system
    if version:
        item["version"] = version
    if params.string("display"):
        item["display"] = params.string("display")
    return {"coding": [item]}, "code", ""


def validate_code(ctx: TxContext, params: ParsedParameters, instance_id: str | None = None) -> dict[str, Any]:
    value_set = resolve_value_set(ctx, params, instance_id)
    if value_set is None:
        raise bad_request("No value set given: use url, a valueSet resource, or ValueSet/[id]/$validate-code")
    coded = coded_value(params, code_system=False)
    if coded is None:
        raise bad_request(
            "Unable to find code to validate (looked for coding | codeableConcept | code+system | "
            "code+inferSystem in parameters"
        )
    concept, mode, path = coded
    if mode != "code" or not concept["coding"][0].get("system") and not ctx.options.infer_system:
        ctx.options.infer_system = False
    return validate_in_value_set(ctx, value_set, concept, mode, path)


def validate_in_value_set(
    ctx: TxContext, value_set: dict[str, Any], concept: dict[str, Any], mode: str, path: str
) -> dict[str, Any]:
    """$validate-code of a CodeableConcept (`mode` says how it was given: code, coding or codeableConcept)
    against `value_set`, with the value set's own expansion parameters applied."""
    ctx.require_supplements_of(value_set)
    ctx.apply_value_set_parameters(value_set)
    checker = ValueSetChecker(ctx, value_set)
    try:
        checker.prepare()
    except TxError as error:
        if not error.in_result:
            raise
        return prepare_error_result(ctx, error, concept, mode)
    _require_supplements(ctx, value_set)
    return validate_codeable(checker, concept, mode, path)


def _require_supplements(ctx: TxContext, value_set: dict[str, Any]) -> None:
    for item in (value_set.get("compose") or {}).get("include") or []:
        if isinstance(item, dict) and item.get("system"):
            ctx.code_system(item["system"], item.get("version"))
    missing = ctx.missing_supplements()
    if missing:
        raise supplements_missing(missing)
