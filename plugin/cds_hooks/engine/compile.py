"""One rule of cds_hooks/rules/*.json to a contract.Rule: binder, trigger, sources, condition, card.

Compilation checks every fact name the condition and the card's templates use against what the
binder provides, so a broken rule file stops the app at start-up with the file and rule named.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from plugin.cds_hooks.contract import Binder, Context, Rule
from plugin.cds_hooks.engine.cardplan import compile_action, compile_card
from plugin.cds_hooks.engine.conditions import compile_condition
from plugin.cds_hooks.errors import RuleError
from plugin.cds_hooks.fhir import CPT, as_dict, as_list, as_str
from plugin.cds_hooks.tables import dated_label
from plugin.terminology.model.registry import Registry

__all__ = ["compile_rule", "valueset_codes", "sources_line"]


def valueset_codes(registry: Registry, url: str, where: str) -> frozenset[str]:
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
    return valueset_codes(registry, trigger["valueSet"], where)


def sources_line(rule_id: str, version: str, sources: list[Mapping[str, Any]]) -> str:
    """The closing line of a rule's cards: its id, version and dated sources."""
    return f"Rule `{rule_id}` v{version} · Sources: " + "; ".join(dated_label(s) for s in sources)


def compile_rule(
    data: dict[str, Any], file: str, ctx: Context, registry: Registry, binders: Mapping[str, Binder]
) -> Rule:
    where = f"{file}: rule {data.get('id')!r}"
    kind = data["match"]["kind"]
    binder = binders.get(kind)
    if binder is None:
        raise RuleError(f"{where}: unknown match.kind {kind!r} (known: {', '.join(sorted(binders))})")
    params = MappingProxyType({k: v for k, v in data["match"].items() if k != "kind"})
    sources: list[Mapping[str, Any]] = []
    for table_id in data.get("uses", []):
        if table_id not in ctx.tables.files:
            raise RuleError(f"{where}: uses unknown facts table {table_id!r}")
        sources += ctx.tables.source_of(table_id)
    sources += data["sources"]
    sources_text = sources_line(data["id"], data["version"], sources)
    card, action = data.get("card"), data.get("systemAction")
    card_plan = action_plan = None
    if card is not None:
        card_plan = compile_card(
            card,
            rule_id=data["id"],
            version=data["version"],
            topic=data["topic"],
            title=data["title"],
            sources=sources,
            sources_text=sources_text,
            fields=binder.fields,
            where=where,
        )
        if not any(s.get("url") for s in sources):
            raise RuleError(f"{where}: no source has a url (the card's source.url)")
    if action is not None:
        action_plan = compile_action(
            action,
            rule_line=f"Rule `{data['id']}` v{data['version']}",
            sources=sources,
            fields=binder.fields,
            where=where,
        )
    return Rule(
        id=data["id"],
        version=data["version"],
        topic=data["topic"],
        title=data["title"],
        file=file,
        sources=tuple(sources),
        binder=binder,
        codes=_trigger(data.get("trigger"), ctx, registry, where),
        hooks=frozenset(data["hooks"]) if "hooks" in data else None,
        condition=compile_condition(data.get("condition"), binder.fields, f"{where}.condition"),
        combine=bool(data.get("combine")),
        params=params,
        sources_text=sources_text,
        prepared=binder.prepare(params, ctx, where) if binder.prepare is not None else None,
        card_plan=card_plan,
        action_plan=action_plan,
    )
