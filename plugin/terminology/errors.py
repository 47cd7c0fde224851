"""The one error family of the terminology API: `TxError` and the helpers that build it.

Catalog errors carry a message id and a `tx-issue-type` coding (`tx_error`, `circular_reference`,
`too_costly`, `supplements_missing`); request errors (`bad_request`, `not_found`, `not_supported`)
carry only the issue code and text. All are OperationOutcomeErrors, so /fhir answers each as an
OperationOutcome with its status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plugin.operation_outcome import OperationOutcomeError, tx_issue
from plugin.terminology import messages


class TxError(OperationOutcomeError):
    """A terminology error: one tx-issue-type coded issue rendered from the message catalog.

    `in_result` marks errors that $validate-code reports inside its Parameters (result=false)
    rather than as an HTTP error; everything else becomes an OperationOutcome with `status`.
    """

    def __init__(
        self,
        status: int,
        message_id: str | None,
        text: str,
        *,
        code: str = "processing",
        tx_type: str | None = None,
        expression: str | list[str] | None = None,
        in_result: bool = False,
        unknown_system: str | None = None,
        severity: str = "error",
    ) -> None:
        super().__init__(
            status,
            tx_issue(severity, code, tx_type, text, message_id=message_id, expression=expression),
        )
        self.message_id = message_id
        self.text = text
        self.in_result = in_result
        self.unknown_system = unknown_system


def bad_request(text: str, *, expression: list[str] | None = None) -> TxError:
    """A request the server cannot read: missing or malformed parameters (400, `invalid`)."""
    return TxError(400, None, text, code="invalid", expression=expression)


def not_found(text: str) -> TxError:
    """A resource the request names that the server does not hold (404, `not-found`)."""
    return TxError(404, None, text, code="not-found")


def not_supported(status: int, text: str) -> TxError:
    """A request form the server does not speak: a format (406), a media type (415), an option (400)."""
    return TxError(status, None, text, code="not-supported")


def tx_error(status: int, message_id: str, *args: Any, **kwargs: Any) -> TxError:
    return TxError(status, message_id, messages.render(message_id, *args), **kwargs)


def circular_reference(key: str, stack: Sequence[str]) -> TxError:
    """A value set that imports itself, directly or through others (`stack` is the import path)."""
    return TxError(
        400,
        "VALUESET_CIRCULAR_REFERENCE",
        messages.render("VALUESET_CIRCULAR_REFERENCE", key, f"[{', '.join(stack)}]"),
        code="processing",
        tx_type="vs-invalid",
    )


def too_costly(url: str, limit: int) -> TxError:
    """An expansion that would hold more than `limit` codes (the 422 HAPI and the reference server send)."""
    return TxError(
        422,
        "VALUESET_TOO_COSTLY",
        messages.render("VALUESET_TOO_COSTLY", url, f">{limit}"),
        code="too-costly",
        tx_type=None,
    )


def supplements_missing(missing: Sequence[str], status: int = 422) -> TxError:
    """Supplements a value set (`valueset-supplement`) or a request (`useSupplement`) names that the server
    does not have: 422 for a value set's, 400 for a $lookup's own request."""
    return TxError(
        status,
        "VALUESET_SUPPLEMENT_MISSING",
        messages.plural(len(missing), "VALUESET_SUPPLEMENT_MISSING", len(missing), ",".join(missing)),
        code="not-found",
        tx_type="not-found",
    )
