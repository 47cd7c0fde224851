"""CodeSystem/$subsumes - http://hl7.org/fhir/R5/codesystem-operation-subsumes.html

Supported input: codeA + codeB + system (+ version), codingA + codingB, id (instance level),
tx-resource, the version rules. Output: Parameters with `outcome` = equivalent | subsumes |
subsumed-by | not-subsumed (from the code system's hierarchy).
"""

from __future__ import annotations

from typing import Any

from plugin.terminology.errors import bad_request, not_found
from plugin.terminology.model.codesystem import CodeSystemView
from plugin.terminology.model.context import TxContext
from plugin.terminology.model.parameters import ParametersBuilder, ParsedParameters
from plugin.terminology.operations.codesystem_lookup import unknown_system
from plugin.terminology.validate.findings import unknown_code_error


def subsumes(ctx: TxContext, params: ParsedParameters, instance_id: str | None = None) -> dict[str, Any]:
    coding_a = params.value("codingA") if isinstance(params.value("codingA"), dict) else {}
    coding_b = params.value("codingB") if isinstance(params.value("codingB"), dict) else {}
    code_a = params.string("codeA") or coding_a.get("code")
    code_b = params.string("codeB") or coding_b.get("code")
    system = params.string("system") or coding_a.get("system") or coding_b.get("system")
    version = params.string("version") or coding_a.get("version") or coding_b.get("version")
    if instance_id is not None:
        resource = ctx.registry.by_id("CodeSystem", instance_id)
        if resource is None:
            raise not_found(f"CodeSystem/{instance_id} is not known")
        system, version = resource.get("url"), resource.get("version")
    if not code_a or not code_b:
        raise bad_request("Both codes are required: codeA and codeB, or codingA and codingB")
    for coding in (coding_a, coding_b):
        if coding.get("system") and system and coding["system"] != system:
            raise bad_request(
                f"codingA and codingB must be from the same code system ({coding['system']} is not {system})"
            )
    if not system:
        raise bad_request("The code system is required: system, or codingA/codingB with a system")
    view = ctx.code_system(system, version)
    if view is None:
        raise unknown_system(ctx, system, ctx.determine_version(system, version))
    return subsumes_codes(view, code_a, code_b)


def subsumes_codes(view: CodeSystemView, code_a: str, code_b: str) -> dict[str, Any]:
    """$subsumes of two codes of one code system view: equivalent, subsumes, subsumed-by or not-subsumed."""
    concepts = []
    for name, code in (("codeA", code_a), ("codeB", code_b)):
        concept = view.locate(code)
        if concept is None:
            raise unknown_code_error(view, code, name)
        concepts.append(concept)
    a, b = concepts
    if a.code == b.code:
        outcome = "equivalent"
    elif view.subsumes(a.code, b.code):
        outcome = "subsumes"
    elif view.subsumes(b.code, a.code):
        outcome = "subsumed-by"
    else:
        outcome = "not-subsumed"
    return ParametersBuilder().add("outcome", "Code", outcome).build()
