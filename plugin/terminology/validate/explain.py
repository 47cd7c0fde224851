"""Why a coding is not in a value set, told from its own code system.

A coding that is not a member is still looked up: a relative or value-set system, a supplement used
as a system, an unknown code system (or version), an unknown code, or a wrong display are each
reported, so the $validate-code answer says more than "not in the value set".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plugin.terminology import messages
from plugin.terminology.model import designations as ds
from plugin.terminology.model import versioning
from plugin.terminology.model.parameters import ParametersBuilder
from plugin.terminology.model.resources import ABSOLUTE_URI, add_path, vurl
from plugin.terminology.validate.display_check import check_other_display
from plugin.terminology.validate.findings import Findings, status_check, unknown_code_id, unknown_code_text


def explain_non_member(
    checker: Any,
    found: Findings,
    coding: dict[str, Any],
    path: str,
    mode: str,
    system: str,
    note: Callable[[str], None],
    out: ParametersBuilder,
) -> str | None:
    """Add what is wrong with the coding; returns the display to report for it, if any."""
    ctx = checker.ctx
    options = ctx.options
    code = coding.get("code") or ""
    if not ABSOLUTE_URI.match(system):
        text = messages.render("Terminology_TX_System_Relative")
        found.add(
            "error",
            "invalid",
            add_path(path, "system"),
            "Terminology_TX_System_Relative",
            text,
            "invalid-data",
        )
        note(text)
    version = coding.get("version") or _vs_version_for(checker, system)
    view = ctx.code_system(system, version)
    if view is None:
        _unknown_system(ctx, found, system, version, path, note)
        return None
    status_check(view.resource, checker.value_set, found)
    concept = view.locate(code)
    if concept is None:
        key = f"{system}|{view.version}#{code}"
        if key not in found.reported_codes:
            found.reported_codes.add(key)
            where = add_path(path, "code")
            if view.content == "complete":
                text = unknown_code_text(view, code)
                found.add("error", "code-invalid", where, unknown_code_id(view), text, "invalid-code")
                note(text)
            else:
                text = messages.render("UNKNOWN_CODE_IN_FRAGMENT", code, system, view.version or "")
                found.add("warning", "code-invalid", where, "UNKNOWN_CODE_IN_FRAGMENT", text, "invalid-code")
        return None
    designations = list(concept.designations)
    if not options.membership_only and not found.inactive and view.is_inactive(concept):
        found.inactive, found.inactive_path, found.inactive_code = True, path, code
        found.status = view.status(concept) or found.status
    chosen = ds.preferred(designations, options.working_languages()) or ds.preferred(designations, None)
    if coding.get("display") and designations:
        check_other_display(options, found, designations, view.language, view.url, coding, path, note)
    if view.version and mode != "codeableConcept" and not out.has("version"):
        out.add("version", "String", view.version)
    return chosen.value if chosen is not None else None


def _unknown_system(
    ctx: Any, found: Findings, system: str, version: str | None, path: str, note: Callable[[str], None]
) -> None:
    where = add_path(path, "system")
    if ctx.value_set(system) is not None and ctx.code_system_resource(system) is None:
        text = messages.render("Terminology_TX_System_ValueSet2", system)
        found.add("error", "invalid", where, "Terminology_TX_System_ValueSet2", text, "invalid-data")
        note(text)
        return
    supplement = ctx.supplement_resource(system, version)
    if supplement is not None:
        text = messages.render("CODESYSTEM_CS_NO_SUPPLEMENT", vurl(supplement))
        found.add("error", "invalid", where, "CODESYSTEM_CS_NO_SUPPLEMENT", text, "invalid-data")
        note(text)
        return
    known = ctx.code_system_versions(system)
    if not known and not version:
        message_id, key = "UNKNOWN_CODESYSTEM", system
        wording = "UNKNOWN_CODESYSTEM_NOT_INCLUDED" if ABSOLUTE_URI.match(system) else message_id
        text = messages.render(wording, system)
    elif known:
        message_id, key = "UNKNOWN_CODESYSTEM_VERSION", f"{system}|{version}"
        text = messages.render(message_id, system, version, versioning.present_versions(known))
    else:
        message_id, key = "UNKNOWN_CODESYSTEM_VERSION_NONE", system
        text = messages.render(message_id, system, version, "")
    if found.unknown(key):
        found.add("error", "not-found", where, message_id, text, "not-found")
        note(text)


def _vs_version_for(checker: Any, system: str) -> str | None:
    """The newest version the value set's includes pin for the system, if any."""
    versions = {
        i.get("version")
        for i in (checker.compose or {}).get("include") or []
        if isinstance(i, dict) and i.get("system") == system and i.get("version")
    }
    if not versions:
        return None
    return sorted(versions, key=versioning.version_key)[-1]
