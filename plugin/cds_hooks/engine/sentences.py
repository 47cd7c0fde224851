"""Card sentences: the paragraphs of a card's detail after the first (`card.sections` in the rule JSON).

Each section is a SentenceTemplate: its text, and optionally
  "id": "pfs-global-period"            a stable name for the sentence
  "source": "cms-pfs" | ["a", "b"]      ids of the rule's sources (`sources[].id`) it rests on
  "confidence": "High", "asOf": "2024"  how sure it is, and since when
  "when": <condition>                   any condition over the binder's facts
  "applies": {...}                      when the sentence is true at all, in the terms sources use:
      "codes": ["33952"]                  an order of the binding has one of these CPT codes
      "ageBand": {"min": 6, "max": 17}    every age the patient can have on the date of service is
                                          in the band (years; either end optional; false when unknown)
      "payer": ["medicare"]               the payer on file is of one of these kinds (payers.json)
      "sameDate": true                    the two orders of a pair are on the same date (false: differ)
      "sameProvider": true                the pair is not known to have different performers
A sentence is dropped from the card when its `when` or `applies` does not hold. `applies` is compiled
into the condition language, so a key the rule's binder has no facts for fails at load.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from plugin.cds_hooks.contract import SentenceTemplate
from plugin.cds_hooks.engine.conditions import compile_condition
from plugin.cds_hooks.engine.templates import check_template, compile_template
from plugin.cds_hooks.errors import RuleError

__all__ = ["compile_sentence", "applies_condition", "cited_ids", "APPLIES_KEYS"]

APPLIES_KEYS = ("codes", "ageBand", "payer", "sameDate", "sameProvider")
# Where a binding keeps the CPT codes of its orders, by binder.
CODE_FACTS = ("order.code", "column1.code", "column2.code", "addon.code", "mue.code", "orders.codes")
PAIR = ("column1", "column2")


def _need(facts: Iterable[str], fields: Collection[str], key: str, where: str) -> None:
    missing = [f for f in facts if f not in fields]
    if missing:
        raise RuleError(
            f"{where}: applies.{key} needs the facts {', '.join(missing)}, which this binder lacks"
        )


def applies_condition(applies: dict[str, Any], fields: Collection[str], where: str) -> dict[str, Any] | bool:
    """An `applies` block as a condition of the condition language (checked against the fields)."""
    unknown = set(applies) - set(APPLIES_KEYS)
    if unknown:
        raise RuleError(
            f"{where}: applies has unknown keys {sorted(unknown)} (known: {', '.join(APPLIES_KEYS)})"
        )
    parts: list[dict[str, Any]] = []
    if "codes" in applies:
        found = [f for f in CODE_FACTS if f in fields]
        if not found:
            raise RuleError(f"{where}: applies.codes: this binder has no order codes")
        parts.append({"any": [{"in": [{"fact": f}, list(applies["codes"])]} for f in found]})
    if "ageBand" in applies:
        band = applies["ageBand"]
        _need(("age.low", "age.high"), fields, "ageBand", where)
        if "min" in band and "max" in band and band["min"] > band["max"]:
            raise RuleError(f"{where}: ageBand min {band['min']} is above max {band['max']}")
        if "min" in band:
            parts.append({"ge": [{"fact": "age.low"}, band["min"]]})
        if "max" in band:
            parts.append({"le": [{"fact": "age.high"}, band["max"]]})
    if "payer" in applies:
        _need(("payer.kind",), fields, "payer", where)
        parts.append({"in": [{"fact": "payer.kind"}, list(applies["payer"])]})
    if "sameDate" in applies:
        dates = [f"{side}.date" for side in PAIR]
        _need(dates, fields, "sameDate", where)
        same = {"eq": [{"fact": dates[0]}, {"fact": dates[1]}]}
        parts.append(same if applies["sameDate"] else {"not": same})
    if "sameProvider" in applies:
        performers = [f"{side}.performer" for side in PAIR]
        _need(performers, fields, "sameProvider", where)
        # Orders rarely name their performer: only two named, different performers count as different.
        same = {
            "any": [
                {"not": {"exists": {"fact": performers[0]}}},
                {"not": {"exists": {"fact": performers[1]}}},
                {"eq": [{"fact": performers[0]}, {"fact": performers[1]}]},
            ]
        }
        parts.append(same if applies["sameProvider"] else {"not": same})
    return {"all": parts} if parts else True


def cited_ids(value: Any, known: Collection[str], where: str) -> tuple[str, ...]:
    ids = (value,) if isinstance(value, str) else tuple(value or ())
    for source_id in ids:
        if source_id not in known:
            listed = ", ".join(sorted(known)) or "none have ids"
            raise RuleError(f"{where}: source {source_id!r} is not one of the rule's sources ({listed})")
    return ids


def compile_sentence(
    section: dict[str, Any], fields: Collection[str], source_ids: Collection[str], where: str
) -> SentenceTemplate:
    text = section["text"]
    check_template(text, fields, f"{where}.text")
    conditions = []
    if section.get("when") is not None:
        conditions.append(section["when"])
    if section.get("applies"):
        conditions.append(applies_condition(section["applies"], fields, f"{where}.applies"))
    holds = compile_condition(
        {"all": conditions} if len(conditions) > 1 else (conditions[0] if conditions else None),
        fields,
        f"{where}.when",
    )
    return SentenceTemplate(
        text=text,
        render=compile_template(text),
        holds=holds,
        id=section.get("id"),
        sources=cited_ids(section.get("source"), source_ids, f"{where}.source"),
        confidence=section.get("confidence"),
        as_of=section.get("asOf"),
    )
