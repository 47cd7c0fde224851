"""Evaluate the compiled rules against one request's facts: bind, test each condition, collect findings.

Rules that bind alike (same binder, trigger and the `match` parameters the binder reads) are grouped
per hook on first use, so a request binds once for all of them and each member's condition reads
those bindings. Findings come in rule file order, and for each rule in its binder's binding order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter

from plugin.cds_hooks.contract import Binding, Context, Finding, Rule
from plugin.cds_hooks.facts import Facts

__all__ = ["RuleSet", "BindGroup"]


@dataclass(frozen=True)
class BindGroup:
    """Rules that bind alike: `bind` runs once for all members. Members keep their file index."""

    bind: Callable[[Facts, Context, Rule], list[Binding]]
    first: Rule
    members: tuple[tuple[int, Rule], ...]


def _binds_alike(one: Rule, other: Rule) -> bool:
    """Same binder, trigger and the parameters the binder reads: the same bindings for any request."""
    return (
        one.binder is other.binder
        and one.codes == other.codes
        and all(one.params.get(k) == other.params.get(k) for k in one.binder.params)
    )


def _combined(matched: list[Binding]) -> Binding:
    """Several bindings of a `combine` rule as one: the first, concerning every matched order."""
    first = dict(matched[0])
    first["_orders"] = {f"o{i}": o for i, b in enumerate(matched) for o in b["_orders"].values()}
    return first


_first = itemgetter(0)


@dataclass
class RuleSet:
    rules: list[Rule]
    context: Context
    # Per hook: the groups of the rules that apply, built on first use.
    plan: dict[str, list[BindGroup]] = field(default_factory=dict)

    def _plan(self, hook: str) -> list[BindGroup]:
        groups: list[list[tuple[int, Rule]]] = []
        for index, rule in enumerate(self.rules):
            if not rule.applies_to(hook):
                continue
            group = next((g for g in groups if _binds_alike(g[0][1], rule)), None)
            if group is None:
                groups.append([(index, rule)])
            else:
                group.append((index, rule))
        plan = [BindGroup(g[0][1].binder.bind, g[0][1], tuple(g)) for g in groups]
        self.plan[hook] = plan
        return plan

    def evaluate(self, facts: Facts) -> list[Finding]:
        """Findings in rule file order, and for each rule in the order its binder returns bindings."""
        plan = self.plan.get(facts.hook) or self._plan(facts.hook)
        context = self.context
        hits: list[tuple[int, Rule, list[Binding]]] = []
        for group in plan:
            bindings = group.bind(facts, context, group.first)
            if not bindings:
                continue
            for index, rule in group.members:
                condition = rule.condition
                matched: list[Binding] = []
                for binding in bindings:
                    if condition(binding):
                        matched.append(binding)  # noqa: PERF401 - a loop costs less than a list comprehension here
                if not matched:
                    continue
                if rule.combine and len(matched) > 1:
                    matched = [_combined(matched)]
                hits.append((index, rule, matched))
        if len(hits) > 1:
            hits.sort(key=_first)
        return [Finding(rule, b) for _index, rule, matched in hits for b in matched]

    def by_id(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)
