"""Assemble the $validate-code answer for a code, Coding or CodeableConcept against one value set.

Each coding is checked for membership (`ValueSetChecker.check`); codings that are not members are
still looked up in their code system so the answer can say why (`explain.py`). The result follows
the R5 $validate-code output: result, message, code, system, version, display, inactive/status,
issues (an OperationOutcome), x-unknown-system / x-caused-by-unknown-system and normalized-code.
"""

from __future__ import annotations

from typing import Any

from plugin.operation_outcome import tx_issue
from plugin.terminology import cpt, messages
from plugin.terminology.model import designations as ds
from plugin.terminology.model.parameters import ParametersBuilder
from plugin.terminology.model.resources import add_path
from plugin.terminology.validate.display_check import check_member_display
from plugin.terminology.validate.explain import explain_non_member
from plugin.terminology.validate.findings import Findings, status_check
from plugin.terminology.validate.validation import ValueSetChecker

NOT_IN_VS = "None_of_the_provided_codes_are_in_the_value_set_one"
_UNKNOWN_CS_IDS = ("UNKNOWN_CODESYSTEM", "UNKNOWN_CODESYSTEM_VERSION", "UNKNOWN_CODESYSTEM_VERSION_NONE")
_MESSAGE_ID = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id"


class Verdict:
    """One $validate-code question: a CodeableConcept (1..n codings) against one value set."""

    def __init__(self, checker: ValueSetChecker, coded: dict[str, Any], mode: str, issue_path: str) -> None:
        self.checker = checker
        self.options = checker.options
        self.coded = coded
        self.mode = mode  # code | coding | codeableConcept
        self.issue_path = issue_path  # '' | 'Coding' | 'CodeableConcept'
        self.codings = [c for c in coded.get("coding") or [] if isinstance(c, dict)]
        self.found = Findings()
        self.notes: list[str] = []
        self.out = ParametersBuilder()
        self.ok: bool | None = False
        self.no_code = False
        self.matched: set[int] = set()
        # The coding the answer reports (code, system, version, display): the first coding found in
        # the value set. Later members are still checked (their display issues are reported) but do
        # not replace it, as the terminology ecosystem tests expect of a CodeableConcept.
        self.reported: dict[str, Any] | None = None
        self.fallback: dict[str, Any] = {}
        self.codelist: list[str] = []
        self.display: str | None = None

    def note(self, text: str) -> None:
        if text and text not in self.notes:
            self.notes.append(text)

    def run(self) -> dict[str, Any]:
        if not self.checker.internal:  # the value set asked about (not a code system's implicit one)
            status_check(self.checker.value_set, self.checker.value_set, self.found)
        for index, coding in enumerate(self.codings):
            if not coding.get("code"):
                self._no_code(coding, index)
                break
            self._coding(coding, index)
        if self.issue_path == "CodeableConcept" and self.matched:
            self._soften_unknown_systems()
        self._summary()
        return self._answer()

    # -- one coding --------------------------------------------------------------------------------
    def _path(self, index: int) -> str:
        return (
            f"{self.issue_path}.coding[{index}]" if self.issue_path == "CodeableConcept" else self.issue_path
        )

    def _no_code(self, coding: dict[str, Any], index: int) -> None:
        system = coding.get("system")
        if system:
            text = f"Coding has no code for system {system} and cannot be validated"
        else:
            text = "Coding has no code and cannot be validated"
        self.found.add("warning", "invalid", self._path(index) or None, None, text, "invalid-data")
        self.note(text)
        self.no_code = True

    def _coding(self, coding: dict[str, Any], index: int) -> None:
        checker, found = self.checker, self.found
        path = self._path(index)
        system, version, code = coding.get("system"), coding.get("version"), coding["code"]
        found.designations, found.view, found.version = [], None, None
        before = len(found.messages)
        expression = cpt.expression_for(checker.ctx, found, system, version, code, path)
        if expression is None:
            verdict = checker.check(path, system, version, code, found, coding.get("display"))
        elif expression.base is None:
            verdict = False
        else:
            verdict = checker.check(path, system, version, expression.base.code, found)
            if verdict is True and not cpt.value_set_allows_expressions(checker.compose, system):
                text = messages.render("CPT_EXPR_NOT_ALLOWED", code, checker.label)
                found.add(
                    "error", "code-invalid", add_path(path, "code"), "CPT_EXPR_NOT_ALLOWED", text, "not-in-vs"
                )
                verdict = False
        for text in found.messages[before:]:
            self.note(text)
        shown_system = found.implied_system or system or ""
        if not self.fallback or (verdict is True and not self.matched):
            self.fallback = {"system": system, "code": code, "version": version}
        if not self.fallback.get("version") and found.version:
            self.fallback["version"] = found.version
        rendered = f"{shown_system}|{version}#{code}" if version else f"{shown_system}#{code}"
        if coding.get("display"):
            rendered += f" ('{coding['display']}')"
        self.codelist.append(f"'{rendered}'")
        if verdict is False and not checker.internal and self.mode == "codeableConcept":
            text = messages.render(NOT_IN_VS, "", checker.label, f"'{rendered}'")
            where = f"{self.issue_path}.coding[{index}].code"
            found.add("information", "code-invalid", where, NOT_IN_VS, text, "this-code-not-in-vs")
        if self.ok is not True and verdict is not False:
            self.ok = verdict
        if verdict is True:
            self.matched.add(index)
            self._member(coding, path, expression is None)
        elif not self.options.membership_only and shown_system:
            shown = explain_non_member(
                checker, found, coding, path, self.mode, shown_system, self.note, self.out
            )
            if shown is not None:
                self.display = shown

    def _member(self, coding: dict[str, Any], path: str, check_display: bool) -> None:
        found = self.found
        if found.content_mode == "example":
            text = (
                f"The system {coding.get('system')} was found but did not contain enough information to "
                f'properly validate the code "{coding["code"]}" ("{coding.get("display")}") (mode = example)'
            )
            found.add("warning", "not-found", path or None, None, text, "vs-invalid")
            self.note(text)
        elif coding.get("display") and found.designations and check_display:
            check_member_display(self.options, found, coding, path, self.note)
        if self.reported is not None:
            return
        languages = self.options.working_languages()
        chosen = ds.preferred(found.designations, languages) or ds.preferred(found.designations, None)
        self.reported = {
            "system": coding.get("system"),
            "code": coding["code"],
            "path": path,
            "version": found.version,
            "display": chosen.value if chosen is not None else None,
        }

    def _soften_unknown_systems(self) -> None:
        """In a CodeableConcept, another coding's unknown system does not veto a confirmed member."""
        for index, coding in enumerate(self.codings):
            if index in self.matched:
                continue
            where = f"{self.issue_path}.coding[{index}].system"
            for issue in self.found.issues:
                if issue["severity"] != "error" or where not in issue.get("expression", []):
                    continue
                if _message_id(issue) not in _UNKNOWN_CS_IDS:
                    continue
                was = issue["details"]["text"]
                system = coding.get("system")
                named = f"{system}|{coding['version']}" if coding.get("version") else system
                now = messages.render("UNKNOWN_CODESYSTEM_CODING_NOT_CHECKED", named)
                issue["severity"] = "warning"
                issue["details"]["text"] = now
                if was in self.notes:
                    self.notes.remove(was)
                self.note(now)

    # -- the answer --------------------------------------------------------------------------------
    def _summary(self) -> None:
        """The 'not in the value set' error, unless a code-system-level error already says why."""
        checker, found = self.checker, self.found
        no_code_summary = self.no_code and (self.mode != "codeableConcept" or checker.internal)
        if self.ok is not False or no_code_summary or (checker.internal and found.has_errors()):
            return
        if self.mode == "codeableConcept":
            message_id = "TX_GENERAL_CC_ERROR_MESSAGE"
            text = messages.render(message_id, checker.label)
            where = None
        else:
            message_id = NOT_IN_VS
            text = messages.render(message_id, "", checker.label, ", ".join(self.codelist))
            where = f"{self.issue_path}.code" if self.issue_path else "code"
        issue = tx_issue("error", "code-invalid", "not-in-vs", text, message_id=message_id, expression=where)
        if issue not in found.issues:
            found.issues.append(issue)
            self.note(text)

    def _answer(self) -> dict[str, Any]:
        found, out, reported, fallback = self.found, self.out, self.reported, self.fallback
        cc_mode = self.mode == "codeableConcept"
        valid = self.ok is True and not found.has_errors()
        out.add("result", "Boolean", valid)
        if reported is not None:
            out.add("system", "Uri", reported["system"] or found.implied_system)
        elif self.ok is True and found.implied_system:
            out.add("system", "Uri", found.implied_system)
        elif fallback.get("system") and not cc_mode:
            out.add("system", "Uri", fallback["system"])
        for system in found.unknown_systems:
            if self.ok is False:
                out.add("x-unknown-system", "Canonical", system)
            elif not valid:
                out.add("x-caused-by-unknown-system", "Canonical", system)
        if found.normal_form:
            out.add("normalized-code", "Code", found.normal_form)
        if reported is not None:
            out.add("code", "Code", reported["code"])
        elif fallback.get("code") and not cc_mode:
            out.add("code", "Code", fallback["code"])
        if reported is not None and reported.get("version"):
            out.add("version", "String", reported["version"])
        elif fallback.get("version") and not cc_mode and not out.has("version"):
            out.add("version", "String", fallback["version"])
        display = reported["display"] if reported is not None else self.display
        if display and (reported is not None or (fallback.get("code") and not cc_mode)):
            out.add("display", "String", display)
        self._status(reported, fallback)
        for issue in found.issues:
            if issue["severity"] == "error":
                self.note(issue["details"]["text"])
        if self.notes:
            out.add("message", "String", "; ".join(sorted(self.notes)))
        if cc_mode:
            out.add("codeableConcept", "CodeableConcept", self.coded)
        if found.issues:
            out.add_resource("issues", {"resourceType": "OperationOutcome", "issue": found.issues})
        return out.build()

    def _status(self, reported: dict[str, Any] | None, fallback: dict[str, Any]) -> None:
        """inactive/status of the reported code, with the warning that goes with it."""
        found, out = self.found, self.out
        code = found.inactive_code or fallback.get("code")
        if found.inactive:
            shown = reported is not None and found.inactive_path == reported["path"]
            if self.mode != "codeableConcept" or shown:
                out.add("inactive", "Boolean", True)
                if found.status and found.status != "inactive":
                    out.add("status", "Code", found.status)
            status = found.status or ""
            if status in ("inactive", "DISCOURAGED"):
                text = messages.render("INACTIVE_CONCEPT_FOUND", status, code, "").strip()
            else:
                text = messages.render("INACTIVE_CONCEPT_FOUND_ADD", status, code, "inactive").strip()
            self.note(text)
            where = found.inactive_path or "code"
            found.issues.append(
                tx_issue(
                    "warning",
                    "business-rule",
                    "code-comment",
                    text,
                    message_id="INACTIVE_CONCEPT_FOUND",
                    expression=where,
                )
            )
        elif (found.status or "").lower() == "deprecated":
            out.add("status", "Code", "deprecated")
            text = messages.render("DEPRECATED_CONCEPT_FOUND", found.status, fallback.get("code"))
            self.note(text)
            where = self.issue_path or "code"
            found.issues.append(
                tx_issue(
                    "warning",
                    "business-rule",
                    "code-comment",
                    text,
                    message_id="DEPRECATED_CONCEPT_FOUND",
                    expression=where,
                )
            )


def validate_codeable(
    checker: ValueSetChecker, coded: dict[str, Any], mode: str, issue_path: str
) -> dict[str, Any]:
    return Verdict(checker, coded, mode, issue_path).run()


def prepare_error_result(ctx: Any, error: Any, concept: dict[str, Any], mode: str) -> dict[str, Any]:
    """A value set or code system that cannot be used is an answer (result=false), not an HTTP failure."""
    out = ParametersBuilder()
    out.add_resource("issues", error.to_resource())
    out.add("result", "Boolean", False)
    out.add("message", "String", error.text)
    coding = (concept.get("coding") or [{}])[0]
    if mode == "codeableConcept":
        out.add("codeableConcept", "CodeableConcept", concept)
    else:
        out.add("system", "Uri", coding.get("system"))
        version = coding.get("version")
        if not version and coding.get("system"):
            view = ctx.code_system(coding["system"])
            version = view.version if view is not None else None
        out.add("version", "String", version)
        out.add("code", "Code", coding.get("code"))
    if error.unknown_system:
        out.add("x-caused-by-unknown-system", "Canonical", error.unknown_system)
    return out.build()


def _message_id(issue: dict[str, Any]) -> str | None:
    for ext in issue.get("extension") or []:
        if ext.get("url") == _MESSAGE_ID:
            return ext.get("valueString")
    return None
