"""Where an expansion's codes come from: resolving the code system version an include names (with
the errors the specification and the HL7 validator's catalog give when it cannot be used) and
compiling its filters."""

from __future__ import annotations

from typing import Any

from plugin.terminology import messages
from plugin.terminology.errors import TxError, tx_error
from plugin.terminology.expand.filters import UnknownFilterError, UnsafePatternError, compile_filter
from plugin.terminology.expand.output import ExpansionOutput
from plugin.terminology.model import versioning
from plugin.terminology.model.codesystem import CodeSystemView
from plugin.terminology.model.context import TxContext
from plugin.terminology.model.resources import each_version, standards_status, vurl


def resolve_code_system(
    ctx: TxContext, output: ExpansionOutput, system: str, version: str | None
) -> CodeSystemView:
    """The code system version an include names, or the error the expansion fails with."""
    resolved = ctx.determine_version(system, version)
    view = ctx.code_system(system, resolved, rules=False)
    if view is None:
        supplement = ctx.supplement_resource(system, resolved)
        if supplement is not None:
            raise tx_error(
                400,
                "CODESYSTEM_CS_NO_SUPPLEMENT",
                vurl(supplement),
                code="invalid",
                tx_type="invalid-data",
            )
        if not resolved:
            raise tx_error(
                422,
                "UNKNOWN_CODESYSTEM_EXP",
                system,
                code="not-found",
                tx_type="not-found",
                unknown_system=system,
            )
        known = ctx.code_system_versions(system)
        if known:
            raise tx_error(
                422,
                "UNKNOWN_CODESYSTEM_VERSION_EXP",
                system,
                resolved,
                versioning.present_versions(known),
                code="not-found",
                tx_type="not-found",
                unknown_system=f"{system}|{resolved}",
            )
        raise tx_error(
            422,
            "UNKNOWN_CODESYSTEM_VERSION_EXP_NONE",
            system,
            resolved,
            code="not-found",
            tx_type="not-found",
            unknown_system=f"{system}|{resolved}",
        )
    failure = ctx.version_check_failure(system, view.version)
    if failure is not None:
        raise failure
    if view.content == "not-present":
        raise TxError(
            422,
            None,
            messages.render("EXPANSION_CS_NOT_PRESENT", system),
            code="business-rule",
            tx_type="invalid",
        )
    if view.content in ("fragment", "example"):
        output.param("used-fragment", "Uri", view.canonical)
        reason = messages.render("EXPANSION_UNCLOSED_FRAGMENT", system)
        if reason not in output.unclosed:
            output.unclosed.append(reason)
    return view


def note_code_system(output: ExpansionOutput, view: CodeSystemView, source: dict[str, Any]) -> None:
    """`used-codesystem`, and the status warning of the code system (`note_status`)."""
    output.param("used-codesystem", "Uri", view.canonical)
    note_status(output, view.resource, source)


def note_status(output: ExpansionOutput, resource: dict[str, Any], source: dict[str, Any]) -> None:
    """The status warning parameter of a code system or value set the expansion of `source` draws
    on (`source` itself included): `warning-deprecated` / `warning-withdrawn` (its
    structuredefinition-standards-status), else `warning-retired` (status retired), else
    `warning-experimental` (experimental, where `source` is not), else `warning-draft` (status or
    standards status draft, where `source` is not draft) - one per resource, the first that applies.
    Spec: the expansion parameters of the terminology ecosystem IG
    (https://build.fhir.org/ig/HL7/fhir-tx-ecosystem-ig/), as the reference expander names them."""
    standards = standards_status(resource)
    url = vurl(resource)
    if standards in ("deprecated", "withdrawn"):
        output.param(f"warning-{standards}", "Uri", url)
    elif resource.get("status") == "retired":
        output.param("warning-retired", "Uri", url)
    elif resource.get("experimental") is True and source.get("experimental") is not True:
        output.param("warning-experimental", "Uri", url)
    elif (resource.get("status") == "draft" or standards == "draft") and not (
        source.get("status") == "draft" or standards_status(source) == "draft"
    ):
        output.param("warning-draft", "Uri", url)


def include_filters(
    view: CodeSystemView, item: dict[str, Any], path: str, value_set_url: str = ""
) -> list[Any]:
    """The compiled filters of one include/exclude; a bad or unsafe one is the request's error."""
    out = []
    for index, raw in enumerate(item.get("filter") or []):
        if not isinstance(raw, dict):
            continue
        prop, op, value = raw.get("property"), raw.get("op"), raw.get("value")
        where = f"{path}.filter[{index}]"
        if value is None or value == "":
            raise tx_error(
                400,
                "UNABLE_TO_HANDLE_SYSTEM_FILTER_WITH_NO_VALUE",
                view.url,
                prop,
                op,
                code="invalid",
                tx_type="vs-invalid",
                expression=where,
            )
        try:
            out.append(compile_filter(view, str(prop), str(op), str(value)))
        except UnsafePatternError as exc:
            raise TxError(
                422,
                None,
                f"The regex filter on {view.url} cannot be used: {exc}",
                code="invalid",
                tx_type="vs-invalid",
                expression=where,
            ) from exc
        except UnknownFilterError as exc:
            raise tx_error(
                400,
                "FILTER_NOT_UNDERSTOOD",
                prop,
                op,
                value,
                value_set_url,
                view.url,
                code="not-supported",
                tx_type="vs-invalid",
                expression=where,
            ) from exc
    return out


Indexed = list[tuple[dict[str, Any], int]]


def compose_by_version(ctx: TxContext, compose: dict[str, Any]) -> tuple[Indexed, Indexed, bool]:
    """The includes and excludes of a compose, each with its index, one per code system version
    they draw on (`resources.each_version`), and whether the expansion keeps versions apart (a
    system appears in more than one version). A versionless exclude of a system the value set
    draws on in several versions applies to each version the includes draw on, not only to the
    latest one."""
    raw_includes = [i for i in compose.get("include") or [] if isinstance(i, dict)]
    raw_excludes = [e for e in compose.get("exclude") or [] if isinstance(e, dict)]
    includes = each_version(raw_includes, ctx.code_system_versions)
    seen: dict[str, set[str | None]] = {}
    for item, _ in includes + each_version(raw_excludes, ctx.code_system_versions):
        if item.get("system"):
            seen.setdefault(item["system"], set()).add(item.get("version"))
    included: dict[str, list[str]] = {}
    for item, _ in includes:
        if item.get("system"):
            chosen = item.get("version") or ctx.determine_version(item["system"], None) or ""
            included.setdefault(item["system"], []).append(chosen)
    several = {system for system, versions in seen.items() if len(versions) > 1}
    excludes = each_version(
        raw_excludes, lambda system: [v for v in dict.fromkeys(included.get(system, [])) if v], several
    )
    return includes, excludes, bool(several)
