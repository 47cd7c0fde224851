"""One module per FHIR terminology operation, each in two parts:

- a reader `(ctx, params, instance_id)` that takes the operation's arguments out of the request's
  `ParsedParameters` (and the instance id), the signature `plugin/terminology/http.py` calls;
- the operation itself, a pure function with explicit arguments (a context or registry, a code system view
  or value set, codes, read parameters, a base URL: `lookup_code`, `validate_batch`, `search_resources`,
  `metadata`, ...) that returns a FHIR resource dict or raises a `TxError` (plugin/terminology/errors.py),
  and is tested without HTTP.

HTTP concerns (routing, content negotiation, R4/R5 shapes) live in `plugin/terminology/http.py`.
"""

from __future__ import annotations

from typing import Any

from plugin.terminology.errors import bad_request, not_found, tx_error
from plugin.terminology.model import shape
from plugin.terminology.model.context import TxContext
from plugin.terminology.model.parameters import ParsedParameters


def resolve_value_set(
    ctx: TxContext, params: ParsedParameters, instance_id: str | None, *, in_result: bool = False
) -> dict[str, Any] | None:
    """The value set an operation works on: instance id, `valueSet` resource, or `url` (+ valueSetVersion)."""
    if instance_id is not None:
        found = ctx.registry.by_id("ValueSet", instance_id)
        if found is None:
            raise not_found(f"ValueSet/{instance_id} is not known")
        return found
    inline = params.resource("valueSet")
    if inline is not None:
        malformed = shape.problems(inline, "valueSet")
        if inline.get("resourceType") != "ValueSet" or malformed:
            raise bad_request(
                "; ".join(malformed) or "The valueSet parameter must hold a ValueSet", expression=["valueSet"]
            )
        return inline
    url = params.string("url")
    if not url:
        return None
    version = params.string("valueSetVersion")
    base, _, pinned = url.partition("|")
    found = ctx.value_set(base, version or pinned or None)
    if found is None:
        resolved = ctx.determine_version(base, version or pinned or None, valueset=True)
        shown = f"{base}|{resolved}" if resolved else base
        raise tx_error(
            404,
            "Unable_to_resolve_value_Set_",
            shown,
            code="not-found",
            tx_type="not-found",
            in_result=in_result,
        )
    return found
