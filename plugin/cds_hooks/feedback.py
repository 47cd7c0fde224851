"""POST /cds-services/{id}/feedback: validate the CDS Hooks 2.0 feedback body and store it durably."""

from __future__ import annotations

from typing import Any

from flask import Flask

from plugin.cds_hooks.pipeline import CdsError, CdsHooks
from plugin.cds_hooks.services import Service
from plugin.storage import get_store


def accept_feedback(app: Flask, cds: CdsHooks, service: Service, body: Any) -> int:
    """Store every feedback item in one transaction; returns how many. Raises CdsError(400) on bad input."""
    if not isinstance(body, dict):
        raise CdsError(400, "invalid-request", "the feedback body must be a JSON object")
    error = cds.schemas.first_error("feedback.schema.json", body)
    if error is not None:
        field, message = error
        raise CdsError(400, "invalid-request", message, field)
    items: list[dict[str, Any]] = [
        {
            k: item[k]
            for k in ("card", "outcome", "acceptedSuggestions", "overrideReason", "outcomeTimestamp")
            if k in item
        }
        for item in body["feedback"]
    ]
    return get_store(app).add_feedback(service.id, items)
