"""order-setting: each in-scope order with its setting: facility or non-facility, from the place of
service on the order or its encounter (place-of-service facts table), else the encounter class."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plugin.cds_hooks.binders.common import ORDER_FIELDS, REQUEST_FIELDS, fields_of, order_binding
from plugin.cds_hooks.contract import Binder, Binding, Context, Rule
from plugin.cds_hooks.facts import Facts
from plugin.cds_hooks.fhir import as_dict, as_list, as_str, codings, contained


def _encounter_pos(facts: Facts, pos_systems: list[str]) -> list[str]:
    encounter = as_dict(facts.encounter)
    found = []
    for item in as_list(encounter.get("location")):
        location = contained(encounter, as_dict(item).get("location"))
        for concept in as_list((location or {}).get("type")):
            found += [
                c["code"]
                for c in codings(concept)
                if c.get("system") in pos_systems and as_str(c.get("code"))
            ]
    return found


@dataclass(frozen=True)
class SettingTable:
    """The place-of-service facts table as the setting binder reads it."""

    facility: dict[str, str]
    other_facility: frozenset[str]
    non_facility: dict[str, str]
    classes: dict[str, str]
    pos_systems: list[str]


def prepare_setting(params: Mapping[str, Any], ctx: Context, where: str) -> SettingTable:
    pos_table = ctx.tables.files.get("place-of-service", {})
    return SettingTable(
        facility=pos_table.get("facility", {}),
        other_facility=frozenset(pos_table.get("facilityOtherPayers", {}).get("codes", [])),
        non_facility=pos_table.get("nonFacility", {}),
        classes=pos_table.get("encounterClasses", {}),
        pos_systems=pos_table.get("posSystems", []),
    )


def bind_order_setting(facts: Facts, ctx: Context, rule: Rule) -> list[Binding]:
    found: list[Binding] = []
    table: SettingTable = rule.prepared
    encounter_pos = _encounter_pos(facts, table.pos_systems)
    encounter_class = as_str(as_dict(as_dict(facts.encounter).get("class")).get("code"))
    for order in facts.in_scope:
        if not rule.triggered(order.code):
            continue
        if order.pos or encounter_pos:
            where, pos = (
                ("ServiceRequest.locationCode", order.pos[0])
                if order.pos
                else ("Encounter.location", encounter_pos[0])
            )
            kind = "facility" if pos in table.facility or pos in table.other_facility else "non-facility"
            name = table.facility.get(pos) or table.non_facility.get(pos)
            place = f"POS {pos}" + (f" ({name})" if name else "")
            setting = {"kind": kind, "pos": pos, "name": name, "where": f"{place} on {where}"}
        elif encounter_class:
            setting = {
                "kind": table.classes.get(encounter_class, "unknown"),
                "pos": None,
                "name": None,
                "where": f"encounter class {encounter_class}",
            }
        else:
            setting = {"kind": "unknown", "pos": None, "name": None, "where": None}
        setting["class"] = encounter_class
        binding = order_binding(facts, order)
        binding["setting"] = setting
        found.append(binding)
    return found


ORDER_SETTING = Binder(
    "order-setting",
    fields_of(
        [
            ("order", ORDER_FIELDS),
            ("request", REQUEST_FIELDS),
            ("setting", ["kind", "pos", "name", "where", "class"]),
        ]
    ),
    bind_order_setting,
    prepare=prepare_setting,
)
