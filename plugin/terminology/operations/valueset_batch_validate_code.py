"""ValueSet/$batch-validate-code - the tx ecosystem's batch form of $validate-code
(http://hl7.org/fhir/uv/tx-ecosystem and tx.fhir.org's OperationDefinition).

Input: the value set (url, valueSetVersion, valueSet or id), shared $validate-code parameters, and
repeated `validation` parameters, each a Parameters resource with one validation's own parameters
(they override the shared ones). Output: repeated `validation`, each a $validate-code result
Parameters - or an OperationOutcome when that validation could not be run.

`batch_validate` reads the request; `validate_batch` is the operation itself, over explicit arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plugin.operation_outcome import OperationOutcomeError
from plugin.terminology.errors import bad_request
from plugin.terminology.model.context import TxContext, TxOptions
from plugin.terminology.model.languages import Languages
from plugin.terminology.model.parameters import ParametersBuilder, ParsedParameters, from_resource
from plugin.terminology.model.registry import Registry
from plugin.terminology.operations import valueset_validate_code

_SHARED_EXCLUDED = {"validation", "tx-resource"}

# One validation as read from the request: its own parameters, or why they could not be read.
Validation = ParsedParameters | OperationOutcomeError


def batch_validate(
    ctx: TxContext, params: ParsedParameters, instance_id: str | None = None
) -> dict[str, Any]:
    """The request's shared parameters and its validations, then `validate_batch`."""
    return validate_batch(
        ctx.registry,
        shared_parameters(params),
        read_validations(params),
        instance_id=instance_id,
        http_languages=ctx.options.http_languages,
        fhir_version=ctx.fhir_version,
    )


def shared_parameters(params: ParsedParameters) -> ParsedParameters:
    """The parameters every validation inherits: all but `validation` and `tx-resource` (the latter is
    already in the registry the request built)."""
    return ParsedParameters([p for p in params if p.get("name") not in _SHARED_EXCLUDED])


def read_validations(params: ParsedParameters) -> list[Validation]:
    """Each `validation` Parameters resource as $validate-code parameters; one that cannot be read is kept
    as its error, so its place in the answer holds an OperationOutcome."""
    validations = params.resources("validation")
    if not validations:
        raise bad_request("Give one or more 'validation' parameters, each a Parameters resource")
    read: list[Validation] = []
    for validation in validations:
        try:
            read.append(from_resource("valueset-validate-code", validation))
        except OperationOutcomeError as err:
            read.append(err)
    return read


def validate_batch(
    registry: Registry,
    shared: ParsedParameters,
    validations: Sequence[Validation],
    *,
    instance_id: str | None = None,
    http_languages: Languages | None = None,
    fhir_version: str = "R5",
) -> dict[str, Any]:
    """$validate-code once per validation against `registry`: a validation's own parameters override the
    shared ones of the same name; `http_languages` (Accept-Language) applies unless a validation names
    its own. Answers a Parameters with one `validation` per input, in order."""
    if not validations:
        raise bad_request("Give one or more 'validation' parameters, each a Parameters resource")
    out = ParametersBuilder()
    for own in validations:
        if isinstance(own, OperationOutcomeError):
            out.add_resource("validation", own.to_resource())
            continue
        own_names = {p["name"] for p in own}
        merged = ParsedParameters([p for p in shared if p["name"] not in own_names] + list(own))
        options = TxOptions.from_parameters(merged)
        if options.http_languages is None:
            options.http_languages = http_languages
        try:
            result = valueset_validate_code.validate_code(
                TxContext(registry, options, fhir_version), merged, instance_id
            )
        except OperationOutcomeError as err:
            out.add_resource("validation", err.to_resource())
            continue
        out.add_resource("validation", result)
    return out.build()
