"""CodeSystem/$lookup - http://hl7.org/fhir/R5/codesystem-operation-lookup.html

Supported input: system + code (+ version), coding, id (instance level), property (repeating;
`*` for all), displayLanguage (and Accept-Language), useSupplement, the version rules, tx-resource.
Output (R5): name, version, display, definition, abstract, designation (language, use, value,
source), property (code, value, description for parent/child), plus code, system, used-supplement.
CPT codes may carry modifiers (`33952:62`, see cpt.py).
"""

from __future__ import annotations

from typing import Any

from plugin.operation_outcome import OperationOutcomeError, bad_request
from plugin.terminology import designations as ds
from plugin.terminology import messages, versioning
from plugin.terminology.codesystem import PREFERRED_FOR_LANGUAGE, CodeSystemView, Concept
from plugin.terminology.context import TxContext, TxError
from plugin.terminology.findings import unknown_code_error
from plugin.terminology.parameters import ParametersBuilder, ParsedParameters, part


def lookup(ctx: TxContext, params: ParsedParameters, instance_id: str | None = None) -> dict[str, Any]:
    coding = params.value("coding") if isinstance(params.value("coding"), dict) else {}
    code = params.string("code") or coding.get("code")
    system = params.string("system") or coding.get("system")
    version = params.string("version") or coding.get("version")
    if instance_id is not None:
        resource = ctx.registry.by_id("CodeSystem", instance_id)
        if resource is None:
            raise OperationOutcomeError.simple(404, f"CodeSystem/{instance_id} is not known", "not-found")
        system, version = resource.get("url"), resource.get("version")
    if not code:
        raise bad_request("Must provide a code (code + system, or coding)", expression=["code"])
    if not system:
        raise bad_request("Must provide the code system (system, or coding.system)", expression=["system"])
    view = ctx.code_system(system, version)
    if view is None:
        raise _unknown_system(ctx, system, ctx.determine_version(system, version))
    missing = ctx.missing_supplements()
    if missing:
        raise TxError(
            400,
            "VALUESET_SUPPLEMENT_MISSING",
            messages.plural(len(missing), "VALUESET_SUPPLEMENT_MISSING", len(missing), ",".join(missing)),
            code="not-found",
            tx_type="not-found",
        )
    from plugin.terminology import cpt

    if cpt.is_postcoordinated(view, code):
        return cpt.lookup(ctx, view, code)
    concept = view.locate(code)
    if concept is None:
        raise unknown_code_error(view, code, "code")
    return describe(ctx, view, concept).build()


def describe(ctx: TxContext, view: CodeSystemView, concept: Concept) -> ParametersBuilder:
    wanted = [p.lower() for p in ctx.options.properties]

    def want(name: str) -> bool:
        return not wanted or "*" in wanted or name.lower() in wanted

    out = ParametersBuilder()
    out.add("code", "Code", concept.code)
    out.add("system", "Uri", view.url)
    out.add("name", "String", view.resource.get("name") or view.resource.get("title") or view.url)
    out.add("version", "String", view.version)
    chosen = ds.preferred(concept.designations, ctx.options.working_languages())
    out.add("display", "String", chosen.value if chosen else (concept.display or concept.code))
    if concept.definition and want("definition"):
        out.add("definition", "String", concept.definition)
    if want("abstract"):
        out.add("abstract", "Boolean", view.is_abstract(concept))
    if want("inactive"):
        out.add_parts(
            "property",
            [part("code", "Code", "inactive"), part("value", "Boolean", view.is_inactive(concept))],
        )
    used: list[str] = []
    if want("designation"):
        for d in concept.designations:
            parts = []
            if d.language:
                parts.append(part("language", "Code", d.language))
            if d.is_display:
                parts.append(part("use", "Coding", dict(PREFERRED_FOR_LANGUAGE)))
            elif d.use:
                parts.append(part("use", "Coding", d.use))
            if d.source:
                parts.append(part("source", "Canonical", d.source))
                if d.source not in used:
                    used.append(d.source)
            parts.append(part("value", "String", d.value))
            out.add_parts("designation", parts)
    for prop in concept.properties:
        name = prop.get("code")
        if not isinstance(name, str) or not (
            not wanted or "*" in wanted or name.lower() in wanted or (wanted and "property" in wanted)
        ):
            continue
        value = [(k, v) for k, v in prop.items() if k.startswith("value") and len(k) > 5]
        if value:
            out.add_parts(
                "property", [part("code", "Code", name), {"name": "value", value[0][0]: value[0][1]}]
            )
    if want("parent"):
        for parent in concept.parents:
            parts = [part("code", "Code", "parent"), part("value", "Code", parent)]
            target = view.concepts.get(parent)
            if target is not None and target.display:
                parts.append(part("description", "String", target.display))
            out.add_parts("property", parts)
    if want("child"):
        for child in concept.children:
            parts = [part("code", "Code", "child"), part("value", "Code", child)]
            target = view.concepts.get(child)
            if target is not None and target.display:
                parts.append(part("description", "String", target.display))
            out.add_parts("property", parts)
    for source in used:
        out.add("used-supplement", "Canonical", source)
    return out


def _unknown_system(ctx: TxContext, system: str, version: str | None) -> TxError:
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
