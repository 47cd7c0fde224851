"""order-age: each in-scope order of a code with an age criterion, with the patient's age on its date
of service (a range when a date is partial) and the age-band counterpart code that fits, if any.

The age limits and counterparts come from the terminology content (Context.bands); the arithmetic
from plugin/dates.py. Which mismatches make a card is the rule data's business (age-criteria.json).
"""

from __future__ import annotations

from plugin.cds_hooks.binders.common import ORDER_FIELDS, REQUEST_FIELDS, fields_of, order_binding
from plugin.cds_hooks.content import NO_COUNTERPART
from plugin.cds_hooks.contract import Binder, Binding, Context, Rule
from plugin.cds_hooks.facts import Facts
from plugin.dates import age_bounds, age_text

AGE_FIELDS = ["known", "low", "high", "text", "issue", "birth_date", "precise"]


def bind_order_age(facts: Facts, ctx: Context, rule: Rule) -> list[Binding]:
    found: list[Binding] = []
    bands = ctx.bands
    birth = facts.birth_date
    for order in facts.in_scope:
        split = bands.split.get(order.code)  # only codes with an age criterion
        if split is None or not rule.triggered(order.code):
            continue
        binding = order_binding(facts, order)
        binding["code"] = split.view
        binding["counterpart"] = NO_COUNTERPART
        ages = age_bounds(birth, order.service_date) if birth else None
        issue = facts.birth_date_issue
        if birth and ages is None:
            issue = f"the birth date {birth.text} is after the date of service {order.service_date.text}"
        low, high = ages or (None, None)
        binding["age"] = {
            "known": ages is not None,
            "low": low,
            "high": high,
            "text": age_text(low, high) if ages else None,
            "issue": issue,
            "birth_date": birth.text if birth else None,
            "precise": bool(birth and birth.precise and order.service_date.precise),
        }
        if ages is not None:
            for target, view in split.counterparts:
                if bands.fits(target, low, high) == "fits":
                    binding["counterpart"] = view
                    break
        found.append(binding)
    return found


ORDER_AGE = Binder(
    "order-age",
    fields_of(
        [
            ("order", ORDER_FIELDS),
            ("request", REQUEST_FIELDS),
            ("age", AGE_FIELDS),
            ("code", ["age_min", "age_max", "band", "display"]),
            ("counterpart", ["exists", "code", "display", "band"]),
        ]
    ),
    bind_order_age,
)
