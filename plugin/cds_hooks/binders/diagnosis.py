"""order-diagnosis: each ICD-10-CM reason code of an in-scope order, classified against the tabular:
billable, a header (chapter, block, category or code with subcodes: not reportable), or not a code."""

from __future__ import annotations

from plugin.cds_hooks.binders.coding_edits import or_list
from plugin.cds_hooks.binders.common import ORDER_FIELDS, REQUEST_FIELDS, fields_of, order_binding
from plugin.cds_hooks.contract import Binder, Binding, Context, Rule
from plugin.cds_hooks.diagnoses import ICD10CM
from plugin.cds_hooks.facts import Facts
from plugin.cds_hooks.fhir import as_list, as_str, codings


def bind_order_diagnosis(facts: Facts, ctx: Context, rule: Rule) -> list[Binding]:
    found: list[Binding] = []
    diagnoses = ctx.diagnoses
    if diagnoses is None:
        return found  # no ICD-10-CM loaded: nothing to check against
    for order in facts.in_scope:
        if not rule.triggered(order.code):
            continue
        for index, concept in enumerate(as_list(order.resource.get("reasonCode"))):
            for coding in codings(concept):
                code = as_str(coding.get("code"))
                if coding.get("system") != ICD10CM or code is None:
                    continue
                diagnosis = diagnoses.classify(code.strip())
                binding = order_binding(facts, order)
                binding["diagnosis"] = {
                    "code": code,
                    "display": diagnosis.display or as_str(coding.get("display")),
                    "status": diagnosis.status,
                    "billable_below": diagnosis.billable_below,
                    "billable_below_text": or_list(diagnosis.billable_below)
                    + (f" (and {diagnosis.more_below} more)" if diagnosis.more_below else ""),
                    "more_below": diagnosis.more_below,
                    "version": diagnoses.version,
                    "where": f"{order.resource_type}.reasonCode[{index}]",
                }
                found.append(binding)
    return found


DIAGNOSIS_FIELDS = [
    "code", "display", "status", "billable_below", "billable_below_text", "more_below", "version", "where",
]  # fmt: skip

ORDER_DIAGNOSIS = Binder(
    "order-diagnosis",
    fields_of([("order", ORDER_FIELDS), ("request", REQUEST_FIELDS), ("diagnosis", DIAGNOSIS_FIELDS)]),
    bind_order_diagnosis,
)
