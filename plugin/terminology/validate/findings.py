"""What checking a coding finds, as OperationOutcome issues worded from the message catalog.

`Findings` accumulates issues (coded from tx-issue-type), the summary messages, unknown systems and
the facts the $validate-code answer reports (version, inactive/status, normal form). The functions
here add the findings that several checks share: reconciling a coding's version with a value set
include's, unknown code systems, unknown codes, and references to retired/draft/experimental content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plugin.operation_outcome import tx_issue
from plugin.terminology import messages
from plugin.terminology.errors import TxError
from plugin.terminology.model import versioning
from plugin.terminology.model.codesystem import CodeSystemView, Concept, Designation
from plugin.terminology.model.resources import add_path, standards_status, vurl


@dataclass
class Findings:
    """What checking one coding found, shared across nested value set checks."""

    issues: list[dict[str, Any]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    unknown_systems: list[str] = field(default_factory=list)
    reported_codes: set[str] = field(default_factory=set)
    version: str | None = None
    inactive: bool = False
    inactive_path: str | None = None
    inactive_code: str | None = None
    status: str | None = None
    normal_form: str | None = None
    content_mode: str | None = None
    implied_system: str | None = None
    designations: list[Designation] = field(default_factory=list)
    default_language: str | None = None
    view: CodeSystemView | None = None

    def add(
        self,
        severity: str,
        code: str,
        path: str | None,
        message_id: str | None,
        text: str,
        tx_type: str | None,
        *,
        message: bool = False,
    ) -> None:
        """Add an issue (once per text); `message` also puts it in the summary message."""
        if not any(i["details"]["text"] == text and i["severity"] == severity for i in self.issues):
            self.issues.append(
                tx_issue(severity, code, tx_type, text, message_id=message_id, expression=path)
            )
        if message:
            self.note(text)

    def note(self, text: str) -> None:
        if text and text not in self.messages:
            self.messages.append(text)

    def unknown(self, system: str) -> bool:
        """Record an unknown system; False when it was already reported."""
        if system in self.unknown_systems:
            return False
        self.unknown_systems.append(system)
        return True

    def has_errors(self) -> bool:
        return any(i["severity"] in ("error", "fatal") for i in self.issues)

    def see_concept(self, view: CodeSystemView, concept: Concept, path: str, code: str) -> None:
        """Remember the first matched concept's status (inactive, deprecated...)."""
        if not self.inactive:
            self.inactive = view.is_inactive(concept)
            self.inactive_path = path
            self.inactive_code = code
            self.status = view.status(concept)


def unknown_code_id(view: CodeSystemView) -> str:
    if view.url == "http://snomed.info/sct":
        return "Unknown_Code_in_Version_SCT"
    return "Unknown_Code_in_Version" if view.version else "Unknown_Code_in"


def unknown_code_text(view: CodeSystemView, code: str) -> str:
    return messages.render(unknown_code_id(view), code, view.url, view.version or "", "")


def unknown_code_error(view: CodeSystemView, code: str, expression: str) -> TxError:
    """The 404 of an operation on one code ($lookup, $subsumes) that the code system does not have."""
    return TxError(
        404,
        "Unknown_Code_in_Version",
        unknown_code_text(view, code),
        code="not-found",
        tx_type="invalid-code",
        expression=expression,
    )


def reconcile_version(
    ctx: Any, path: str, system: str, version_vs: str | None, version_coding: str | None, found: Findings
) -> str | None:
    """The code system version to check a coding against, given the include's and the coding's.

    A coding may name a version the include pins differently (VALUESET_VALUE_MISMATCH), one the
    include's wildcard admits (fine), or one no longer known (UNKNOWN_CODESYSTEM_VERSION).
    """
    result = ctx.determine_version(system, version_vs)
    if not version_coding:
        return result
    if result and version_coding != result and versioning.version_matches(result, version_coding):
        result = version_coding
    if not result:
        known = ctx.code_system_versions(system)
        if any(v == version_coding or versioning.version_matches(version_coding, v) for v in known):
            result = version_coding
    view = ctx.code_system(system, result)
    where = add_path(path, "version")
    if view is not None and not versioning.version_matches(version_coding, view.version):
        if not result:
            message_id, severity = "VALUESET_VALUE_MISMATCH_DEFAULT", "warning"
            text = messages.render(message_id, system, view.version or "", version_vs or "", version_coding)
        elif result != version_vs:
            message_id, severity = "VALUESET_VALUE_MISMATCH_CHANGED", "error"
            text = messages.render(message_id, system, result, version_vs or "", version_coding)
        else:
            message_id, severity = "VALUESET_VALUE_MISMATCH", "error"
            text = messages.render(message_id, system, version_vs or "", version_coding)
        found.add(severity, "invalid", where, message_id, text, "vs-invalid", message=severity == "error")
        if ctx.code_system(system, version_coding, rules=False) is None and found.unknown(
            f"{system}|{version_coding}"
        ):
            known_list = versioning.present_versions(ctx.code_system_versions(system))
            text = messages.render("UNKNOWN_CODESYSTEM_VERSION", system, version_coding, known_list)
            found.add(
                "error",
                "not-found",
                add_path(path, "system"),
                "UNKNOWN_CODESYSTEM_VERSION",
                text,
                "not-found",
                message=True,
            )
    elif view is None and result != version_coding:
        text = messages.render("VALUESET_VALUE_MISMATCH", system, result or "", version_coding)
        found.add("error", "invalid", where, "VALUESET_VALUE_MISMATCH", text, "vs-invalid", message=True)
    return result


def report_unknown_system(ctx: Any, path: str, system: str, version: str | None, found: Findings) -> None:
    """The code system an include names is not known here (at all, or in that version)."""
    where = add_path(path, "system")
    if not version:
        found.unknown(system)
        text = messages.render("UNKNOWN_CODESYSTEM", system)
        found.add("error", "not-found", where, "UNKNOWN_CODESYSTEM", text, "not-found", message=True)
        return
    known = ctx.code_system_versions(system)
    message_id = "UNKNOWN_CODESYSTEM_VERSION" if known else "UNKNOWN_CODESYSTEM_VERSION_NONE"
    text = messages.render(message_id, system, version, versioning.present_versions(known))
    found.note(text)
    if found.unknown(f"{system}|{version}" if known else system):
        found.add("error", "not-found", where, message_id, text, "not-found")


def status_check(resource: dict[str, Any], source: dict[str, Any], found: Findings) -> None:
    """Information when a value set draws on retired, deprecated, draft or experimental content."""
    standards = standards_status(resource)
    kind = resource.get("resourceType", "CodeSystem")
    url = vurl(resource)
    if standards in ("deprecated", "withdrawn"):
        message_id = "MSG_DEPRECATED" if standards == "deprecated" else "MSG_WITHDRAWN"
        text = messages.render(message_id, url, "", kind)
    elif resource.get("status") == "retired":
        message_id, text = "MSG_RETIRED", messages.render("MSG_RETIRED", url, "", kind)
    elif resource.get("experimental") and not source.get("experimental"):
        message_id, text = "MSG_EXPERIMENTAL", messages.render("MSG_EXPERIMENTAL", url, "", kind)
    elif (resource.get("status") == "draft" or standards == "draft") and not (
        source.get("status") == "draft" or standards_status(source) == "draft"
    ):
        message_id, text = "MSG_DRAFT", messages.render("MSG_DRAFT", url, "", kind)
    else:
        return
    issue = tx_issue("information", "business-rule", "status-check", text, message_id=message_id)
    if issue not in found.issues:
        found.issues.append(issue)
