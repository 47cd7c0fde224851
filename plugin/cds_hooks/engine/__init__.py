"""The CDS rule engine: rule data (cds_hooks/rules/*.json) compiled at load, evaluated per request.

    load.py        read and validate the rule files, build the binders' Context, compile each rule
    compile.py     one rule -> contract.Rule (binder, trigger, sources, condition, card or action)
    cardplan.py    a rule's card / systemAction -> CardPlan / CoveragePlan (templates checked)
    sentences.py   card sections -> SentenceTemplate (per-sentence sources and `applies`)
    conditions.py  the condition language -> closures
    templates.py   the `{fact.path}` template language -> closures
    evaluate.py    RuleSet.evaluate(facts) -> [Finding]

The types are in plugin/cds_hooks/contract.py, the binders in plugin/cds_hooks/binders/, and
rendering findings as cards in plugin/cds_hooks/cards.py.
"""

from __future__ import annotations

from plugin.cds_hooks.engine.evaluate import RuleSet
from plugin.cds_hooks.engine.load import load_rules

__all__ = ["RuleSet", "load_rules"]
