"""The one error type of the FHIR endpoints: raise OperationOutcomeError, get an OperationOutcome back.

Every FHIR blueprint (terminology at /fhir and /fhir/r5, the sandbox FHIR server) registers
`register_error_handlers`, so bad input anywhere below them renders as an OperationOutcome with a
4xx status, and an unexpected exception still renders as one (500, with the error id the log line
carries) instead of an HTML page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from werkzeug.exceptions import HTTPException

from plugin.http import fhir_response

# HTTP status -> OperationOutcome.issue.code for errors raised by the web layer itself.
_HTTP_ISSUE_CODE = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    413: "too-long",
    415: "not-supported",
    422: "processing",
    429: "throttled",
}


def issue(
    severity: str,
    code: str,
    text: str,
    *,
    expression: list[str] | None = None,
    details_coding: list[dict[str, Any]] | None = None,
    message_id: str | None = None,
    diagnostics: str | None = None,
) -> dict[str, Any]:
    """One OperationOutcome.issue in FHIR JSON, keys in FHIR's element order."""
    item: dict[str, Any] = {}
    if message_id:
        item["extension"] = [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id",
                "valueString": message_id,
            }
        ]
    item["severity"] = severity
    item["code"] = code
    details: dict[str, Any] = {}
    if details_coding:
        details["coding"] = details_coding
    details["text"] = text
    item["details"] = details
    if diagnostics:
        item["diagnostics"] = diagnostics
    if expression:
        item["location"] = list(expression)
        item["expression"] = list(expression)
    return item


TX_ISSUE_TYPE = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type"


def tx_issue(
    severity: str,
    code: str,
    tx_type: str | None,
    text: str,
    *,
    message_id: str | None = None,
    expression: list[str] | str | None = None,
) -> dict[str, Any]:
    """An issue in the shape terminology clients expect: `details.coding` from the tx-issue-type
    code system (not-found, not-in-vs, invalid-code, ...) and the catalog message id as an extension."""
    if isinstance(expression, str):
        expression = [expression] if expression else None
    coding = [{"system": TX_ISSUE_TYPE, "code": tx_type}] if tx_type else None
    return issue(severity, code, text, expression=expression, details_coding=coding, message_id=message_id)


def operation_outcome(issues: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": issues}


class OperationOutcomeError(Exception):
    """An error a FHIR client should see as an OperationOutcome with the given HTTP status."""

    def __init__(self, status: int, issues: list[dict[str, Any]] | dict[str, Any]) -> None:
        self.status = status
        self.issues = [issues] if isinstance(issues, dict) else list(issues)
        super().__init__("; ".join(i.get("details", {}).get("text", "") for i in self.issues))

    @classmethod
    def simple(
        cls, status: int, text: str, code: str | None = None, *, expression: list[str] | None = None
    ) -> OperationOutcomeError:
        return cls(
            status,
            issue("error", code or _HTTP_ISSUE_CODE.get(status, "processing"), text, expression=expression),
        )

    def to_resource(self) -> dict[str, Any]:
        return operation_outcome(self.issues)


def bad_request(text: str, *, expression: list[str] | None = None) -> OperationOutcomeError:
    return OperationOutcomeError.simple(400, text, "invalid", expression=expression)


def not_found(text: str) -> OperationOutcomeError:
    return OperationOutcomeError.simple(404, text, "not-found")


def unprocessable(text: str, code: str = "processing") -> OperationOutcomeError:
    return OperationOutcomeError.simple(422, text, code)


def register_error_handlers(bp: Blueprint) -> None:
    """Render every error under this blueprint as an OperationOutcome.

    Anything else (an unexpected exception) falls through to the app-wide handler in plugin.errors, which
    logs it with an error id and answers an OperationOutcome under FHIR paths.
    """

    @bp.errorhandler(OperationOutcomeError)
    def _outcome(err: OperationOutcomeError) -> Any:
        return fhir_response(err.to_resource(), err.status)

    @bp.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Any:
        status = err.code or 500
        text = err.description or err.name
        response = fhir_response(OperationOutcomeError.simple(status, text).to_resource(), status)
        if status == 405 and hasattr(err, "valid_methods") and err.valid_methods:
            response.headers["Allow"] = ", ".join(err.valid_methods)
        return response
