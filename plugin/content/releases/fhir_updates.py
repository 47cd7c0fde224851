"""The published FHIR content a release changes: the CPT fragment's `global-days` and `add-on`.

`global-days` is the PFS global surgery period of the release; `add-on` is true for a code the NCCI
add-on code table lists as an add-on, or whose PFS global period is ZZZ (CMS: "code is related to
another service and is always included in the global period of the other service"). Only these two
properties are touched; every other concept fact keeps its own sources.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from plugin.content.releases.common import ReleaseError

CPT = "http://www.ama-assn.org/go/cpt"


def read_fragment(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReleaseError(path, None, f"cannot read the CPT CodeSystem: {exc}") from exc
    if data.get("resourceType") != "CodeSystem" or data.get("url") != CPT:
        raise ReleaseError(path, None, f"not the CPT CodeSystem ({CPT})")
    return data


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
