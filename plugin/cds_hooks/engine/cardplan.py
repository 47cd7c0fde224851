"""A rule's `card` and `systemAction` JSON, checked against the binder's facts and compiled to plans.

What no request changes (indicator, override reasons, links and source with constant text, topic
Coding, the sources line, the system action's per-payer values) is built here, once; only the parts
that read the binding stay templates. Those constant parts are shared between responses, which are
only read (serialised) after they are built. The rule JSON is only read.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from plugin.cds_hooks.cards import OVERRIDE_SYSTEM, TOPIC_DISPLAY, TOPIC_SYSTEM, _summary, source_dict
from plugin.cds_hooks.contract import (
    ActionPlan,
    CardPlan,
    CoveragePlan,
    LinkPlan,
    PayerCoverage,
    SentenceTemplate,
    SuggestionPlan,
    Template,
)
from plugin.cds_hooks.engine.conditions import compile_condition
from plugin.cds_hooks.engine.sentences import cited_ids, compile_sentence
from plugin.cds_hooks.engine.templates import check_template, compile_template, is_constant
from plugin.cds_hooks.errors import RuleError
from plugin.cds_hooks.tables import dated_label

__all__ = ["compile_card", "compile_action", "PAYER_KINDS"]

PAYER_KINDS = ("medicare", "blue", "aetna", "cigna", "uhc", "default")


class _Texts:
    """Checks each template text against the binder's facts as it compiles it."""

    def __init__(self, fields: Collection[str], where: str) -> None:
        self.fields, self.where = fields, where

    def __call__(self, text: Any, path: str) -> Template:
        check_template(text, self.fields, f"{self.where}.{path}")
        return compile_template(text)


def _literal(text: str) -> Template:
    """A literal text (a source label or url from the rule's sources): never read as a template."""
    return lambda _b: text


def _summary_template(text: str) -> Template:
    if is_constant(text):
        summary = _summary(text)
        return lambda _b: summary
    template = compile_template(text)
    return lambda b: _summary(template(b))


def _action_plan(action: dict[str, Any], texts: _Texts, path: str) -> ActionPlan:
    kind = action["type"]
    for key in ("code", "display", "previousDisplay", "quantity"):
        if isinstance(action.get(key), str):
            texts(action[key], f"{path}.{key}")
    description = texts(action["description"], f"{path}.description")
    target = action.get("target", "order")
    if kind == "recode":
        return ActionPlan(
            kind,
            target,
            description,
            code=compile_template(action["code"]),
            display=compile_template(action.get("display", "")),
            previous_display=compile_template(action.get("previousDisplay", "")),
        )
    if kind == "delete":
        return ActionPlan(kind, target, description)
    return ActionPlan(kind, target, description, quantity=compile_template(str(action["quantity"])))


def _suggestion(suggestion: dict[str, Any], texts: _Texts, path: str) -> SuggestionPlan:
    label = texts(suggestion["label"], f"{path}.label")
    when = compile_condition(suggestion.get("when"), texts.fields, f"{texts.where}.{path}.when")
    actions = tuple(
        _action_plan(a, texts, f"{path}.actions[{j}]") for j, a in enumerate(suggestion.get("actions", []))
    )
    recommended = (suggestion["isRecommended"],) if "isRecommended" in suggestion else ()
    return SuggestionPlan(when=when, label=label, is_recommended=recommended, actions=actions)


def compile_card(
    card: dict[str, Any],
    *,
    rule_id: str,
    version: str,
    topic: str,
    title: str,
    sources: Sequence[Mapping[str, Any]],
    sources_text: str,
    fields: Collection[str],
    where: str,
) -> CardPlan:
    """The card of a rule, with everything that no request changes built now."""
    texts = _Texts(fields, where)
    texts(card["summary"], "card.summary")  # checked here; built by _summary_template
    detail = texts(card["detail"], "card.detail")
    topic_coding = {"system": TOPIC_SYSTEM, "code": topic, "display": TOPIC_DISPLAY[topic]}
    source_template = card.get("source", {})
    label, url_template = source_template.get("label"), source_template.get("url")
    first = sources[0] if sources else {}
    source_label = (
        texts(label, "card.source.label") if label is not None else _literal(first.get("label", title))
    )
    url = next((s["url"] for s in sources if s.get("url")), None)
    if url_template is not None:
        source_url: Template | None = texts(url_template, "card.source.url")
    else:
        source_url = _literal(url) if url else None
    fixed = all(text is None or is_constant(text) for text in (label, url_template))
    source = (
        source_dict(source_label({}), source_url({}) if source_url else None, topic_coding) if fixed else None
    )
    source_ids = {s["id"] for s in sources if s.get("id")}
    # What the summary, the detail and each suggestion rest on must be sources of the rule (checked here;
    # the coder's review table shows them).
    cites = card.get("cites") or {}
    for part in ("summary", "detail"):
        if part not in cites:
            raise RuleError(f"{where}: card.cites.{part} is missing (the sources the {part} rests on)")
        cited_ids(cites[part].get("source"), source_ids, f"{where}.card.cites.{part}.source")
    for i, suggestion in enumerate(card.get("suggestions", [])):
        cited_ids(suggestion.get("source"), source_ids, f"{where}.card.suggestions[{i}].source")
    suggestions = tuple(
        _suggestion(s, texts, f"card.suggestions[{i}]") for i, s in enumerate(card.get("suggestions", []))
    )
    links = tuple(
        LinkPlan(texts(link["label"], f"card.links[{i}].label"), texts(link["url"], f"card.links[{i}].url"))
        for i, link in enumerate(card.get("links", []))
    )
    sentences = tuple(
        compile_sentence(part, fields, source_ids, f"{where}.card.sections[{i}]")
        for i, part in enumerate(card.get("sections", []))
    )
    ids = [s.id for s in sentences if s.id]
    if len(set(ids)) != len(ids):
        raise RuleError(f"{where}: card.sections: sentence ids must be unique, got {ids}")
    reasons = card.get("overrideReasons")
    return CardPlan(
        indicator=card["indicator"],
        summary=_summary_template(card["summary"]),
        detail=detail,
        sentences=sentences,
        closing="---\n" + sources_text,
        source=source,
        source_label=source_label,
        source_url=source_url,
        topic=topic_coding,
        suggestions=suggestions,
        selection_behavior=card.get("selectionBehavior", "at-most-one"),
        override_reasons=[
            {"code": r["code"], "system": OVERRIDE_SYSTEM, "display": r["display"]} for r in reasons
        ]
        if reasons
        else None,
        links=links,
        rule_ref={"id": rule_id, "version": version},
    )


def _sub(url: str, value_key: str, value: Any) -> dict[str, Any]:
    return {"url": url, value_key: value}


def _reason_sentences(
    reason: Any, fields: Collection[str], source_ids: Collection[str], where: str
) -> tuple[SentenceTemplate, ...]:
    """A payer's reason: a list of sentences like card sections (each with its source and when it holds)."""
    if isinstance(reason, str):
        raise RuleError(f"{where}: reason must be a list of sentences, each naming its source")
    sentences = tuple(
        compile_sentence(part, fields, source_ids, f"{where}[{i}]") for i, part in enumerate(reason)
    )
    if not sentences:
        raise RuleError(f"{where}: reason has no sentence")
    return sentences


def compile_action(
    action: dict[str, Any],
    *,
    rule_line: str,
    sources: Sequence[Mapping[str, Any]],
    fields: Collection[str],
    where: str,
) -> CoveragePlan:
    """A rule's coverage-information system action, with each payer kind's fixed parts built now."""
    check_template(action["description"], fields, f"{where}.systemAction.description")
    unknown = set(action["byPayer"]) - set(PAYER_KINDS)
    if unknown:
        raise RuleError(f"{where}: systemAction.byPayer has unknown payer kinds {sorted(unknown)}")
    source_ids = {s["id"] for s in sources if s.get("id")}
    labels = {s["id"]: dated_label(dict(s)) for s in sources if s.get("id")}
    by_payer = {}
    for kind, values in action["byPayer"].items():
        at = f"{where}.systemAction.byPayer.{kind}"
        fixed = [_sub("covered", "valueCode", values["covered"])]
        if "pa-needed" in values:
            fixed.append(_sub("pa-needed", "valueCode", values["pa-needed"]))
        documentation = [_sub("doc-needed", "valueCode", v) for v in values.get("doc-needed", [])]
        documentation += [_sub("doc-purpose", "valueCode", v) for v in values.get("doc-purpose", [])]
        by_payer[kind] = PayerCoverage(
            fixed=tuple(fixed),
            documentation=tuple(documentation),
            documentation_when=compile_condition(values.get("docWhen"), fields, f"{at}.docWhen"),
            sentences=_reason_sentences(values["reason"], fields, source_ids, f"{at}.reason"),
            rule_line=rule_line,
            source_labels=labels,
        )
    return CoveragePlan(compile_template(action["description"]), by_payer)
