"""The rule engine's contract: what a binder provides, what a compiled rule is, what evaluation returns.

A request flows  Facts --Binder.bind--> [Binding] --Rule.condition--> [Finding] --cards.py--> cards.

- A **Binder** (plugin/cds_hooks/binders/) turns the request's facts into bindings: one dict per thing a
  card could be about (an order, a pair of orders, a code's units, the payer), holding named facts.
  It declares the fact names it provides, so rules are checked against them when they load.
- A **Rule** is the compiled form of one entry of cds_hooks/rules/*.json (plugin/cds_hooks/engine/):
  its trigger, its condition over the binder's facts, and its card or system action as plans whose
  text parts are templates. The JSON dicts are read, never written to.
- A **Finding** is one rule whose condition held for one binding; cards.py renders it.
- A **SentenceTemplate** is one paragraph of a card's detail after the first, with what it claims:
  its sources, confidence and as-of date, and when it applies (`when` and `applies` in the rule JSON).

Conditions and templates are plain functions of a binding (`Condition`, `Template`), built once at load.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from plugin.cds_hooks.content import AgeBands, Documentation
from plugin.cds_hooks.diagnoses import Diagnoses
from plugin.cds_hooks.errors import RuleError
from plugin.cds_hooks.facts import Facts
from plugin.cds_hooks.tables import Tables

__all__ = [
    "Binding",
    "Condition",
    "Template",
    "RuleError",
    "Context",
    "Binder",
    "SentenceTemplate",
    "ActionPlan",
    "SuggestionPlan",
    "LinkPlan",
    "CardPlan",
    "CoveragePlan",
    "PayerCoverage",
    "Rule",
    "Finding",
]

Binding = dict[str, Any]
"""Fact name -> value ("order" -> {"code": ...}); the key `_orders` maps target names to facts.Order."""
Condition = Callable[[Binding], bool]
Template = Callable[[Binding], str]


@dataclass(frozen=True)
class Context:
    """What binders read besides the request's facts: the fact tables and the terminology content."""

    tables: Tables
    bands: AgeBands
    documentation: Documentation
    # ICD-10-CM for the order-diagnosis binder; None when the terminology holds no ICD-10-CM.
    diagnoses: Diagnoses | None = None


@dataclass(frozen=True)
class Binder:
    """How a rule's `match.kind` turns facts into bindings.

    `bind(facts, context, rule)` returns the bindings, in the order their cards should appear; it reads
    `rule.triggered(code)`, `rule.prepared` and `rule.params`. `params` names the `match` parameters
    bind reads: rules with the same trigger and equal values of these bind once for all of them.
    `prepare(params, context, where)` runs once per rule at load; its result is `rule.prepared`.
    """

    kind: str
    fields: frozenset[str]
    bind: Callable[[Facts, Context, Rule], list[Binding]]
    params: tuple[str, ...] = ()
    prepare: Callable[[Mapping[str, Any], Context, str], Any] | None = None


@dataclass(frozen=True)
class SentenceTemplate:
    """One paragraph of a card's detail (an entry of `card.sections`), kept only when `holds`.

    `holds` is the section's `when` condition and its `applies` block (codes, age band, payer kind,
    same date / same provider of a pair of orders) compiled together. `sources` are ids of the rule's
    sources; `confidence` and `as_of` say how sure the sentence is and since when.
    """

    text: str
    render: Template
    holds: Condition
    id: str | None = None
    sources: tuple[str, ...] = ()
    confidence: str | None = None
    as_of: str | None = None


@dataclass(frozen=True)
class ActionPlan:
    """A suggestion's action: recode, delete or set-quantity of the binding's order named `target`."""

    type: str
    target: str
    description: Template
    code: Template | None = None
    display: Template | None = None
    previous_display: Template | None = None
    quantity: Template | None = None


@dataclass(frozen=True)
class SuggestionPlan:
    when: Condition
    label: Template
    is_recommended: tuple[bool, ...]  # (the rule's value,), or () when the rule gives none
    actions: tuple[ActionPlan, ...]


@dataclass(frozen=True)
class LinkPlan:
    label: Template
    url: Template


@dataclass(frozen=True)
class CardPlan:
    """A rule's card: what no request changes is built at load, the rest are templates."""

    indicator: str
    summary: Template  # already cut to the summary limit
    detail: Template
    sentences: tuple[SentenceTemplate, ...]
    closing: str  # "---" and the rule's sources line
    source: dict[str, Any] | None  # the whole source object when nothing in it reads the binding
    source_label: Template
    source_url: Template | None
    topic: dict[str, Any]
    suggestions: tuple[SuggestionPlan, ...]
    selection_behavior: str
    override_reasons: list[dict[str, Any]] | None
    links: tuple[LinkPlan, ...]
    rule_ref: dict[str, Any]


@dataclass(frozen=True)
class PayerCoverage:
    """What the coverage-information action says for one payer kind.

    `fixed` are the parts between coverage and billingCode that every order gets; `documentation` the
    doc-needed / doc-purpose parts, added only when `documentation_when` holds for the order. The reason
    is the sentences that hold for the order (each with its own source), then `rule_line` and the dated
    labels (`source_labels`, by source id) of the sources those sentences cite, and no others.
    """

    fixed: tuple[dict[str, Any], ...]
    documentation: tuple[dict[str, Any], ...]
    documentation_when: Condition
    sentences: tuple[SentenceTemplate, ...]
    rule_line: str
    source_labels: dict[str, str]


@dataclass(frozen=True)
class CoveragePlan:
    """A rule's CRD coverage-information action."""

    description: Template
    by_payer: dict[str, PayerCoverage]  # payer kind ("default" for any other) -> what is said


@dataclass(frozen=True, eq=False)
class Rule:
    """One compiled rule. Exactly one of `card_plan` and `action_plan` is set."""

    id: str
    version: str
    topic: str
    title: str
    file: str
    sources: tuple[Mapping[str, Any], ...]
    binder: Binder
    codes: frozenset[str] | None  # None = every code the binder offers
    hooks: frozenset[str] | None  # None = every hook
    condition: Condition
    combine: bool  # several matching bindings make one finding (one card about all their orders)
    params: Mapping[str, Any]  # the rule's `match` parameters besides `kind`
    sources_text: str  # the closing line of its cards' detail: id, version, dated sources
    prepared: Any = None  # what its binder built from `params` at load (Binder.prepare)
    card_plan: CardPlan | None = None
    action_plan: CoveragePlan | None = None

    def triggered(self, code: str) -> bool:
        return self.codes is None or code in self.codes

    def applies_to(self, hook: str) -> bool:
        return self.hooks is None or hook in self.hooks


@dataclass(slots=True)
class Finding:
    """A rule whose condition held for a binding: one card or one system action."""

    rule: Rule
    binding: Binding
