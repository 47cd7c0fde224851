"""Stage 3: rules are data (cds_hooks/rules/*.json); here they are loaded, compiled once and evaluated.

A rule names its binder (`match.kind`), a trigger (CPT codes, a facts table of codes, or a ValueSet
canonical), a condition in the small language of conditions.py, and a card template or a system
action. Compilation checks every fact name used by the condition and the templates against what the
binder provides, so a broken rule file stops the app at start-up with the file and rule named.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from plugin.cds_hooks import (  # noqa: F401 - they register their binders
    documentation_binder,
    edit_binders,
    request_binders,
)
from plugin.cds_hooks.binders import BINDERS, Binder, Context
from plugin.cds_hooks.cards import compile_action, compile_card
from plugin.cds_hooks.conditions import Binding, Condition, RuleError, check_template, compile_condition
from plugin.cds_hooks.content import load_age_bands, load_documentation
from plugin.cds_hooks.facts import Facts
from plugin.cds_hooks.fhir import CPT, as_dict, as_list, as_str
from plugin.cds_hooks.tables import Tables, dated_label
from plugin.terminology.registry import Registry

AGE_BAND_MAP = "https://fhir.cpt-plugin.org/ConceptMap/ecmo-age-band"
DOCUMENTATION_SYSTEM = "https://fhir.cpt-plugin.org/CodeSystem/ecmo-documentation-element"
NOTE_QUESTIONNAIRE = "https://fhir.cpt-plugin.org/Questionnaire/ecmo-cannulation-note"
PAYER_KINDS = ("medicare", "blue", "aetna", "cigna", "uhc", "default")


@dataclass
class Rule:
    id: str
    version: str
    topic: str
    title: str
    file: str
    sources: list[dict[str, Any]]
    binder: Binder
    codes: frozenset[str] | None  # None = every code the binder offers
    hooks: frozenset[str] | None
    condition: Condition
    card: dict[str, Any] | None
    system_action: dict[str, Any] | None
    combine: bool
    params: dict[str, Any] = field(default_factory=dict)
    sources_text: str = ""  # the closing line of its cards' detail (sources_line)
    prepared: Any = None  # what its binder built from `params` at load (Binder.prepare)
    card_plan: Any = None  # cards.CardPlan: the card with what no request changes built at load
    action_plan: Any = None  # cards.CoveragePlan, for a system action

    def triggered(self, code: str) -> bool:
        return self.codes is None or code in self.codes

    def applies_to(self, hook: str) -> bool:
        return self.hooks is None or hook in self.hooks


@dataclass(slots=True)
class Finding:
    rule: Rule
    binding: Binding


def _valueset_codes(registry: Registry, url: str, where: str) -> frozenset[str]:
    """CPT codes a ValueSet enumerates (expansion.contains or compose.include.concept)."""
    value_set = registry.get(url)
    if value_set is None:
        raise RuleError(f"{where}: trigger ValueSet {url!r} is not loaded")
    codes = {
        c["code"]
        for c in as_list(as_dict(value_set.get("expansion")).get("contains"))
        if isinstance(c, dict) and c.get("system") == CPT and as_str(c.get("code"))
    }
    for include in as_list(as_dict(value_set.get("compose")).get("include")):
        include = as_dict(include)
        if include.get("system") == CPT:
            codes |= {c["code"] for c in as_list(include.get("concept")) if as_str(as_dict(c).get("code"))}
    if not codes:
        raise RuleError(f"{where}: trigger ValueSet {url!r} enumerates no CPT codes")
    return frozenset(codes)


def _trigger(
    trigger: dict[str, Any] | None, ctx: Context, registry: Registry, where: str
) -> frozenset[str] | None:
    if not trigger:
        return None
    if trigger.get("system", CPT) != CPT:
        raise RuleError(f"{where}: only CPT ({CPT}) triggers are supported")
    if "codes" in trigger:
        return frozenset(trigger["codes"])
    if "codesFrom" in trigger:
        table = ctx.tables.files.get(trigger["codesFrom"])
        if table is None or "codes" not in table:
            raise RuleError(
                f"{where}: trigger names facts table {trigger['codesFrom']!r}, which has no codes"
            )
        return frozenset(table["codes"])
    return _valueset_codes(registry, trigger["valueSet"], where)


def _check_card(card: dict[str, Any], fields: set[str], where: str) -> None:
    for key in ("summary", "detail"):
        if key in card:
            check_template(card[key], fields, f"{where}.card.{key}")
    for key in ("label", "url"):
        if key in card.get("source", {}):
            check_template(card["source"][key], fields, f"{where}.card.source.{key}")
    for i, suggestion in enumerate(card.get("suggestions", [])):
        here = f"{where}.card.suggestions[{i}]"
        check_template(suggestion["label"], fields, f"{here}.label")
        suggestion["_when"] = compile_condition(suggestion.get("when"), fields, f"{here}.when")
        for j, action in enumerate(suggestion.get("actions", [])):
            check_template(action["description"], fields, f"{here}.actions[{j}].description")
            for key in ("code", "display", "previousDisplay", "quantity"):
                if isinstance(action.get(key), str):
                    check_template(action[key], fields, f"{here}.actions[{j}].{key}")
    for i, link in enumerate(card.get("links", [])):
        check_template(link["label"], fields, f"{where}.card.links[{i}].label")
        check_template(link["url"], fields, f"{where}.card.links[{i}].url")
    for i, part in enumerate(card.get("sections", [])):
        check_template(part["text"], fields, f"{where}.card.sections[{i}].text")
        part["_when"] = compile_condition(part.get("when"), fields, f"{where}.card.sections[{i}].when")


def compile_rule(data: dict[str, Any], file: str, ctx: Context, registry: Registry) -> Rule:
    where = f"{file}: rule {data.get('id')!r}"
    kind = data["match"]["kind"]
    binder = BINDERS.get(kind)
    if binder is None:
        raise RuleError(f"{where}: unknown match.kind {kind!r} (known: {', '.join(sorted(BINDERS))})")
    params = {k: v for k, v in data["match"].items() if k != "kind"}
    sources: list[dict[str, Any]] = []
    for table_id in data.get("uses", []):
        if table_id not in ctx.tables.files:
            raise RuleError(f"{where}: uses unknown facts table {table_id!r}")
        sources += ctx.tables.source_of(table_id)
    sources += data["sources"]
    card = data.get("card")
    if card is not None:
        _check_card(card, binder.fields, where)
        if not any(s.get("url") for s in sources):
            raise RuleError(f"{where}: no source has a url (the card's source.url)")
    action = data.get("systemAction")
    if action is not None:
        check_template(action["description"], binder.fields, f"{where}.systemAction.description")
        unknown = set(action["byPayer"]) - set(PAYER_KINDS)
        if unknown:
            raise RuleError(f"{where}: systemAction.byPayer has unknown payer kinds {sorted(unknown)}")
    rule = Rule(
        id=data["id"],
        version=data["version"],
        topic=data["topic"],
        title=data["title"],
        file=file,
        sources=sources,
        binder=binder,
        codes=_trigger(data.get("trigger"), ctx, registry, where),
        hooks=frozenset(data["hooks"]) if "hooks" in data else None,
        condition=compile_condition(data.get("condition"), binder.fields, f"{where}.condition"),
        card=card,
        system_action=data.get("systemAction"),
        combine=bool(data.get("combine")),
        params=params,
    )
    rule.sources_text = _sources_text(rule)
    if binder.prepare is not None:
        rule.prepared = binder.prepare(params, ctx, where)
    if card is not None:
        rule.card_plan = compile_card(rule)
    if action is not None:
        rule.action_plan = compile_action(rule)
    return rule


@dataclass(frozen=True)
class BindGroup:
    """Rules that bind alike (same binder, trigger and the parameters it reads): a request binds once
    for all of them, and each member's condition reads those bindings. Members keep their file index."""

    bind: Callable[[Facts, Context, Rule], list[Binding]]
    first: Rule
    members: tuple[tuple[int, Rule], ...]


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
                    first = dict(matched[0])
                    first["_orders"] = {
                        f"o{i}": o for i, b in enumerate(matched) for o in b["_orders"].values()
                    }
                    matched = [first]
                hits.append((index, rule, matched))
        if len(hits) > 1:
            hits.sort(key=_first)
        return [Finding(rule, b) for _index, rule, matched in hits for b in matched]

    def by_id(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)


_first = itemgetter(0)


def _binds_alike(one: Rule, other: Rule) -> bool:
    """Same binder, trigger and the parameters the binder reads: the same bindings for any request."""
    return (
        one.binder is other.binder
        and one.codes == other.codes
        and all(one.params.get(k) == other.params.get(k) for k in one.binder.params)
    )


def _read_rule_files(folder: Path, schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    validator = Draft202012Validator(schema)
    found: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise RuleError(f"{path}: cannot read JSON: {exc}") from exc
        error = next(iter(sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))), None)
        if error is not None:
            location = "/".join(str(p) for p in error.absolute_path) or "(top level)"
            raise RuleError(f"{path}: {location}: {error.message}")
        for raw in data["rules"]:
            if raw["id"] in seen:
                raise RuleError(f"{path}: duplicate rule id {raw['id']!r}")
            seen.add(raw["id"])
            found.append((path.name, raw))
    return found


def _content_context(
    raw_rules: list[tuple[str, dict[str, Any]]], tables: Tables, registry: Registry
) -> Context:
    """Read the terminology content the rules name (age-band ConceptMap, documentation CodeSystem, form)."""
    concept_map, doc_system, questionnaire = AGE_BAND_MAP, DOCUMENTATION_SYSTEM, NOTE_QUESTIONNAIRE
    for _file, raw in raw_rules:
        match = raw["match"]
        if match["kind"] == "order-age" and "conceptMap" in match:
            concept_map = match["conceptMap"]
        if match["kind"] == "order-documentation":
            doc_system = match.get("codeSystem", doc_system)
            questionnaire = match.get("questionnaire", questionnaire)
    return Context(
        tables=tables,
        bands=load_age_bands(registry, concept_map),
        documentation=load_documentation(registry, doc_system, questionnaire),
    )


def resolve_family(tables: Tables, registry: Registry) -> None:
    """The ECMO/ECLS family (what makes a request relevant at all) is the ValueSet its facts file names."""
    family = tables.files.get("ecmo-cannulation-family")
    if family is None or "valueSet" not in family:
        raise RuleError("cds_hooks/facts: ecmo-cannulation-family must name the family ValueSet")
    tables.family = _valueset_codes(registry, family["valueSet"], "facts ecmo-cannulation-family")


def load_rules(folder: Path, schema: dict[str, Any], tables: Tables, registry: Registry) -> RuleSet:
    resolve_family(tables, registry)
    raw_rules = _read_rule_files(folder, schema)
    ctx = _content_context(raw_rules, tables, registry)
    return RuleSet([compile_rule(raw, file, ctx, registry) for file, raw in raw_rules], ctx)


def _sources_text(rule: Rule) -> str:
    parts: Iterable[str] = (dated_label(s) for s in rule.sources)
    return f"Rule `{rule.id}` v{rule.version} · Sources: " + "; ".join(parts)


def sources_line(rule: Rule) -> str:
    """The closing line of the rule's cards: its id, version and dated sources (built at load)."""
    if not rule.sources_text:
        rule.sources_text = _sources_text(rule)
    return rule.sources_text
