"""prefetch-issue: one binding per prefetch key the service could not have (not sent and not fetched,
or answered with an error), with what advice it affects (`match.affects`, by key)."""

from __future__ import annotations

from plugin.cds_hooks.binders.common import REQUEST_FIELDS, base_binding, fields_of
from plugin.cds_hooks.contract import Binder, Binding, Context, Rule
from plugin.cds_hooks.facts import Facts


def bind_prefetch_issue(facts: Facts, ctx: Context, rule: Rule) -> list[Binding]:
    found: list[Binding] = []
    affects = rule.params.get("affects", {})
    for key, reason in sorted(facts.prefetch_issues.items()):
        binding = base_binding(facts)
        binding["issue"] = {"key": key, "reason": reason, "affects": affects.get(key, "some advice")}
        found.append(binding)
    return found


PREFETCH_ISSUE = Binder(
    "prefetch-issue",
    fields_of([("request", REQUEST_FIELDS), ("issue", ["key", "reason", "affects"])]),
    bind_prefetch_issue,
    params=("affects",),
)
