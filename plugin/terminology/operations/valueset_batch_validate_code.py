"""ValueSet/$batch-validate-code - the tx ecosystem's batch form of $validate-code
(http://hl7.org/fhir/uv/tx-ecosystem and tx.fhir.org's OperationDefinition).

Input: the value set (url, valueSetVersion, valueSet or id), shared $validate-code parameters, and
repeated `validation` parameters, each a Parameters resource with one validation's own parameters
(they override the shared ones). Output: repeated `validation`, each a $validate-code result
Parameters - or an OperationOutcome when that validation could not be run.
"""

from __future__ import annotations

from typing import Any

import orjson

from plugin.operation_outcome import OperationOutcomeError
from plugin.terminology.errors import bad_request
from plugin.terminology.model.context import TxContext, TxOptions
from plugin.terminology.model.parameters import ParametersBuilder, ParsedParameters, from_body
from plugin.terminology.operations import valueset_validate_code

_SHARED_EXCLUDED = {"validation", "tx-resource"}


def batch_validate(
    ctx: TxContext, params: ParsedParameters, instance_id: str | None = None
) -> dict[str, Any]:
    validations = params.resources("validation")
    if not validations:
        raise bad_request("Give one or more 'validation' parameters, each a Parameters resource")
    shared = [p for p in params if p.get("name") not in _SHARED_EXCLUDED]
    out = ParametersBuilder()
    for validation in validations:
        try:
            own = from_body("valueset-validate-code", orjson.dumps(validation))
        except OperationOutcomeError as err:
            out.add_resource("validation", err.to_resource())
            continue
        own_names = {p["name"] for p in own}
        merged = ParsedParameters([p for p in shared if p["name"] not in own_names] + list(own))
        options = TxOptions.from_parameters(merged)
        options.http_languages = (
            ctx.options.http_languages if options.http_languages is None else options.http_languages
        )
        one = TxContext(ctx.registry, options, ctx.fhir_version)
        try:
            result = valueset_validate_code.validate_code(one, merged, instance_id)
        except OperationOutcomeError as err:
            out.add_resource("validation", err.to_resource())
            continue
        out.add_resource("validation", result)
    return out.build()
