"""order-setting: each in-scope order with its setting: facility or non-facility, from the place of
service on the order or its encounter (place-of-service facts table), else the encounter class.

CMS's facility and office codes hold for every payer. A payer's own facility list (UnitedHealthcare's
multiple-procedure policy) holds only for that payer, and is stated as that payer's; a place of service
on no list that applies to the payer on the order is "not-verified", never judged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plugin.cds_hooks.binders.common import ORDER_FIELDS, REQUEST_FIELDS, fields_of, order_binding
from plugin.cds_hooks.contract import Binder, Binding, Context, Rule
from plugin.cds_hooks.facts import Facts
from plugin.cds_hooks.fhir import as_dict, as_list, as_str, codings, contained
from plugin.cds_hooks.tables import dated_label


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


CLASS_NOTE = "An encounter class is not a place of service, and no source maps this one to one."


@dataclass(frozen=True)
class SettingTable:
    """The place-of-service facts table as the setting binder reads it."""

    facility: dict[str, str]
    # Payer kind -> (payer name, its facility codes, its dated source label, confidence).
    payer_facility: dict[str, tuple[str, frozenset[str], str, str]]
    non_facility: dict[str, str]
    classes: dict[str, str]
    pos_systems: list[str]


def prepare_setting(params: Mapping[str, Any], ctx: Context, where: str) -> SettingTable:
    pos_table = ctx.tables.files.get("place-of-service", {})
    return SettingTable(
        facility=pos_table.get("facility", {}),
        payer_facility={
            entry["payer"]: (
                entry["name"],
                frozenset(entry.get("codes", [])),
                dated_label(entry.get("source", {})),
                entry.get("confidence") or "not verified",
            )
            for entry in pos_table.get("payerFacility", [])
        },
        non_facility=pos_table.get("nonFacility", {}),
        classes=pos_table.get("encounterClasses", {}),
        pos_systems=pos_table.get("posSystems", []),
    )


def _classify(pos: str, table: SettingTable, facts: Facts) -> dict[str, Any]:
    """kind (facility, non-facility, not-verified), the list that says so, and what the payer's own list
    says: a payer's list is applied to that payer only, and attributed to it."""
    if pos in table.facility:
        return {"kind": "facility", "basis": "CMS POS code set", "payer_note": None}
    if pos in table.non_facility:
        return {"kind": "non-facility", "basis": "CMS POS code set", "payer_note": None}
    payer = facts.payer
    own = table.payer_facility.get(payer.kind) if payer and payer.kind else None
    if own is not None and pos in own[1]:
        name, _codes, source, confidence = own
        note = (
            f"{name}'s multiple-procedure policy lists POS {pos} as a facility place of service "
            f"({source}; confidence {confidence})."
        )
        return {"kind": "facility", "basis": f"{name} policy", "payer_note": note}
    payer_name = payer.name if payer else "the payer on file"
    note = (
        f"POS {pos} is not on {own[0]}'s facility list either."
        if own is not None
        else f"No place-of-service list of {payer_name} is held."
    )
    return {"kind": "not-verified", "basis": None, "payer_note": note}


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
            name = table.facility.get(pos) or table.non_facility.get(pos)
            place = f"POS {pos}" + (f" ({name})" if name else "")
            setting = {"pos": pos, "name": name, "where": f"{place} on {where}"}
            setting.update(_classify(pos, table, facts))
        elif encounter_class:
            setting = {
                "kind": table.classes.get(encounter_class, "unknown"),
                "pos": None,
                "name": None,
                "where": f"encounter class {encounter_class}",
                "basis": "encounter class",
                "payer_note": CLASS_NOTE,
            }
        else:
            setting = {"kind": "unknown", "pos": None, "name": None, "where": None}
            setting.update(basis=None, payer_note=None)
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
            ("setting", ["kind", "pos", "name", "where", "class", "basis", "payer_note"]),
        ]
    ),
    bind_order_setting,
    prepare=prepare_setting,
)
