"""ValueSet/$expand - http://hl7.org/fhir/R5/valueset-operation-expand.html

Supported input: url, valueSetVersion, valueSet (resource), id (instance level), filter, count,
offset, activeOnly, includeDesignations, designation, includeDefinition, excludeNested,
excludeNotForUI, excludePostCoordinated, displayLanguage (and Accept-Language), property,
useSupplement, system-version / check-system-version / force-system-version,
default-valueset-version, tx-resource. Output: the ValueSet with `expansion` (R5 shape).
"""

from __future__ import annotations

from typing import Any

from plugin.terminology.errors import bad_request
from plugin.terminology.expand.expansion import expand as expand_value_set
from plugin.terminology.expand.paging import DEFAULT_LIMIT
from plugin.terminology.model.context import TxContext
from plugin.terminology.model.parameters import ParsedParameters
from plugin.terminology.operations import resolve_value_set


def expand(
    ctx: TxContext, params: ParsedParameters, instance_id: str | None = None, *, limit: int = DEFAULT_LIMIT
) -> dict[str, Any]:
    value_set = resolve_value_set(ctx, params, instance_id)
    if value_set is None:
        raise bad_request(
            "No value set to expand: give url, a valueSet resource, or use ValueSet/[id]/$expand"
        )
    if params.has("exclude-system"):
        raise bad_request("The parameter 'exclude-system' is not supported by this server")
    return expand_value_set(ctx, value_set, limit)
