"""The published FHIR content a release changes: the CPT fragment's `global-days` and `add-on`, the
HCPCS Level II fragment's `status`, `effectiveDate` and `retirementDate`.

`global-days` is the PFS global surgery period of the release; `add-on` is true for a code the NCCI
add-on code table lists as an add-on, or whose PFS global period is ZZZ (CMS: "code is related to
another service and is always included in the global period of the other service"). For each HCPCS
modifier the release lists, `status` is active or retired (terminated before the release takes
effect), `effectiveDate` the release's action effective date and `retirementDate` its termination
date; the declarations of these properties name the release. Only these properties are touched;
every other concept fact keeps its own sources.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from plugin.content.releases.common import ReleaseError

CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
CP = "http://hl7.org/fhir/concept-properties#"
HCPCS_PROPERTIES = [
    (
        "status",
        "code",
        "active, or retired when the code's termination date is before the release takes effect",
    ),
    ("effectiveDate", "dateTime", "the code's action effective date"),
    ("retirementDate", "dateTime", "the code's termination date"),
]  # the standard concept properties the HCPCS build sets, and what each holds


def read_fragment(path: Path, url: str = CPT, name: str = "CPT") -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReleaseError(path, None, f"cannot read the {name} CodeSystem: {exc}") from exc
    if data.get("resourceType") != "CodeSystem" or data.get("url") != url:
        raise ReleaseError(path, None, f"not the {name} CodeSystem ({url})")
    return data


def fragment_codes(fragment: dict[str, Any]) -> list[str]:
    return [str(c["code"]) for c in fragment.get("concept", []) if "code" in c]


def update_fragment(
    fragment: dict[str, Any], tables: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The fragment with the release's values, and each change as {code, property, from, to}."""
    pfs = tables.get("medicare-pfs-indicators", {}).get("codes", {})
    add_ons = {row["addOn"] for row in tables.get("ncci-add-on-codes", {}).get("rows", [])}
    have_aoc = "ncci-add-on-codes" in tables
    updated = copy.deepcopy(fragment)
    changes: list[dict[str, Any]] = []
    for concept in updated.get("concept", []):
        code = concept.get("code")
        wanted: dict[str, Any] = {}
        if code in pfs:
            wanted["global-days"] = ("valueString", pfs[code]["global"])
        if code in pfs or have_aoc:
            is_add_on = code in add_ons or pfs.get(code, {}).get("global") == "ZZZ"
            wanted["add-on"] = ("valueBoolean", is_add_on)
        for prop in concept.get("property", []):
            if prop.get("code") in wanted:
                key, value = wanted.pop(prop["code"])
                if prop.get(key) != value:
                    changes.append(
                        {"code": code, "property": prop["code"], "from": prop.get(key), "to": value}
                    )
                    prop[key] = value
    return updated, changes


def update_hcpcs_fragment(
    fragment: dict[str, Any], tables: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The HCPCS fragment with each listed modifier's status and dates from the release, and the changes."""
    hcpcs = tables.get("hcpcs-level-ii")
    updated = copy.deepcopy(fragment)
    changes: list[dict[str, Any]] = []
    if hcpcs is None:
        return updated, changes
    _declare(updated, f"{hcpcs['release']['stamp']}, effective {hcpcs['release']['effective']}", changes)
    for concept in updated.get("concept", []):
        entry = hcpcs["modifiers"].get(concept.get("code"))
        if entry is None:
            continue  # not in this release: left as it is (the build warns)
        wanted: dict[str, tuple[str, Any]] = {"status": ("valueCode", entry["status"])}
        if entry["actionEffective"] or entry["added"]:
            wanted["effectiveDate"] = ("valueDateTime", entry["actionEffective"] or entry["added"])
        if entry["terminated"]:
            wanted["retirementDate"] = ("valueDateTime", entry["terminated"])
        props = concept.setdefault("property", [])
        for prop in list(props):
            name = prop.get("code")
            if name in ("status", "effectiveDate", "retirementDate") and name not in wanted:
                props.remove(prop)  # the release no longer gives it (e.g. a termination withdrawn)
                changes.append({"code": concept["code"], "property": name, "from": _value(prop), "to": None})
        for name, (key, value) in wanted.items():
            prop = next((p for p in props if p.get("code") == name), None)
            if prop is None:
                props.append({"code": name, key: value})
                changes.append({"code": concept["code"], "property": name, "from": None, "to": value})
            elif prop.get(key) != value:
                changes.append({"code": concept["code"], "property": name, "from": _value(prop), "to": value})
                prop.clear()
                prop.update({"code": name, key: value})
    return updated, changes


def _declare(fragment: dict[str, Any], release: str, changes: list[dict[str, Any]]) -> None:
    """Declare the properties the build sets; each declaration names the release its values are from."""
    declared = {p.get("code"): p for p in fragment.setdefault("property", [])}
    for name, kind, what in HCPCS_PROPERTIES:
        text = f"{what[0].upper()}{what[1:]}, from the CMS HCPCS Level II release {release}."
        have = declared.get(name)
        if have is None:
            fragment["property"].append({"code": name, "uri": CP + name, "description": text, "type": kind})
            changes.append({"code": "(CodeSystem)", "property": name, "from": None, "to": text})
        elif have.get("description") != text:
            changes.append(
                {"code": "(CodeSystem)", "property": name, "from": have.get("description"), "to": text}
            )
            have["description"] = text


def _value(prop: dict[str, Any]) -> Any:
    return next((v for k, v in prop.items() if k.startswith("value")), None)
