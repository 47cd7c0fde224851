"""What a rebuild changes in the fact tables: PTP pairs, modifier indicators, MUE values, PFS values,
HCPCS Level II modifiers and codes (added, gone, and each changed field such as status or description).

Tables are compared by id, pair by pair and code by code, so the report reads the same whether the
current table was built from a release or written by hand (a hand-written code range such as
"99211-99215" is compared as it is written).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def current_tables(folder: Path) -> dict[str, dict[str, Any]]:
    tables: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            tables[data["id"]] = data
    return tables


def _stamp(table: dict[str, Any] | None) -> str | None:
    if table is None:
        return None
    release = table.get("release")
    if isinstance(release, dict) and release.get("stamp"):
        return str(release["stamp"])
    return f"as of {table.get('asOf')} (no release stamp)"


def _pairs(table: dict[str, Any] | None) -> dict[tuple[str, str], str]:
    pairs: dict[tuple[str, str], str] = {}
    for row in (table or {}).get("rows", []):
        for first in row.get("column1", []):
            for second in row.get("column2", []):
                pairs[(first, second)] = str(row.get("modifierIndicator"))
    return pairs


def _mue(rows: list[dict[str, Any]]) -> dict[str, tuple[Any, Any]]:
    return {code: (row.get("mue"), row.get("mai")) for row in rows for code in row.get("codes", [])}


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(_flat(inner, f"{prefix}.{key}" if prefix else key))
        return out
    return {prefix: value}


def diff(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> dict[str, Any]:
    report: dict[str, Any] = {"releases": {}, "ptp": {}, "mue": {}, "pfs": {}, "addOn": {}, "hcpcs": {}}
    for table_id in sorted(new):
        before, after = _stamp(old.get(table_id)), _stamp(new[table_id])
        report["releases"][table_id] = {"from": before, "to": after}
    for table_id in sorted(t for t in new if t.startswith("ncci-ptp-")):
        was, now = _pairs(old.get(table_id)), _pairs(new[table_id])
        report["ptp"][table_id] = {
            "added": [
                {"column1": a, "column2": b, "modifierIndicator": now[(a, b)]}
                for a, b in sorted(now.keys() - was.keys())
            ],
            "deleted": [
                {"column1": a, "column2": b, "modifierIndicator": was[(a, b)]}
                for a, b in sorted(was.keys() - now.keys())
            ],
            "modifierIndicatorChanged": [
                {"column1": a, "column2": b, "from": was[(a, b)], "to": now[(a, b)]}
                for a, b in sorted(was.keys() & now.keys())
                if was[(a, b)] != now[(a, b)]
            ],
        }
    if "ncci-mue" in new:
        for setting in ("practitioner", "outpatient-hospital"):
            was, now = (
                _mue(_mue_rows(old.get("ncci-mue", {}), setting)),
                _mue(_mue_rows(new["ncci-mue"], setting)),
            )
            report["mue"][setting] = [
                {"code": code, "from": _mue_text(was.get(code)), "to": _mue_text(now.get(code))}
                for code in sorted(was.keys() | now.keys())
                if was.get(code) != now.get(code)
            ]
    if "medicare-pfs-indicators" in new:
        was_codes = old.get("medicare-pfs-indicators", {}).get("codes", {})
        for code, facts in sorted(new["medicare-pfs-indicators"]["codes"].items()):
            before, after = _flat(was_codes.get(code, {})), _flat(facts)
            changes = [
                {"field": key, "from": before.get(key), "to": after.get(key)}
                for key in sorted(before.keys() | after.keys())
                if before.get(key) != after.get(key)
            ]
            if changes:
                report["pfs"][code] = changes
    if "ncci-add-on-codes" in new:
        was = {
            r["addOn"]: set(r.get("primaries", [])) for r in old.get("ncci-add-on-codes", {}).get("rows", [])
        }
        now = {r["addOn"]: set(r.get("primaries", [])) for r in new["ncci-add-on-codes"].get("rows", [])}
        for code in sorted(was.keys() | now.keys()):
            added, deleted = (
                now.get(code, set()) - was.get(code, set()),
                was.get(code, set()) - now.get(code, set()),
            )
            if added or deleted:
                report["addOn"][code] = {"primariesAdded": sorted(added), "primariesDeleted": sorted(deleted)}
    if "hcpcs-level-ii" in new:
        for key in ("modifiers", "codes"):
            report["hcpcs"][key] = _entries(
                old.get("hcpcs-level-ii", {}).get(key, {}), new["hcpcs-level-ii"].get(key, {})
            )
    return report


def _entries(was: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """HCPCS entries added, gone and changed field by field (status, descriptions, dates, action code)."""
    changed = {
        code: [
            {"field": key, "from": was[code].get(key), "to": now[code].get(key)}
            for key in sorted(was[code].keys() | now[code].keys())
            if was[code].get(key) != now[code].get(key)
        ]
        for code in sorted(was.keys() & now.keys())
    }
    return {
        "added": sorted(now.keys() - was.keys()),
        "removed": sorted(was.keys() - now.keys()),
        "changed": {code: fields for code, fields in changed.items() if fields},
    }


def _mue_rows(table: dict[str, Any], setting: str) -> list[dict[str, Any]]:
    if setting == "practitioner":
        return list(table.get("rows", []))
    return list(table.get("outpatientHospital", {}).get("rows", []))


def _mue_text(value: tuple[Any, Any] | None) -> str | None:
    return None if value is None else f"MUE {value[0]} / MAI {value[1]}"


def markdown(report: dict[str, Any]) -> str:
    lines = ["# Content changes", "", "## Releases", ""]
    for table_id, change in report["releases"].items():
        same = " (unchanged)" if change["from"] == change["to"] else ""
        lines.append(f"- `{table_id}`: {change['from'] or 'none'} -> {change['to']}{same}")
    for table_id, change in report["ptp"].items():
        lines += ["", f"## PTP pairs: `{table_id}`", ""]
        for label, key in (("Added", "added"), ("Deleted", "deleted")):
            items = change[key]
            lines.append(
                f"- {label} ({len(items)}): "
                + (
                    ", ".join(f"{p['column1']}/{p['column2']} (mod {p['modifierIndicator']})" for p in items)
                    or "none"
                )
            )
        items = change["modifierIndicatorChanged"]
        lines.append(
            f"- Modifier indicator changed ({len(items)}): "
            + (", ".join(f"{p['column1']}/{p['column2']} {p['from']} -> {p['to']}" for p in items) or "none")
        )
    for setting, items in report["mue"].items():
        lines += ["", f"## MUE ({setting})", ""]
        lines += [f"- {i['code']}: {i['from'] or 'none'} -> {i['to'] or 'none'}" for i in items] or [
            "- no change"
        ]
    lines += ["", "## PFS indicators, RVUs and national amounts", ""]
    for code, changes in report["pfs"].items():
        lines.append(f"- {code}: " + "; ".join(f"{c['field']} {c['from']} -> {c['to']}" for c in changes))
    if not report["pfs"]:
        lines.append("- no change")
    lines += ["", "## Add-on code primaries", ""]
    for code, change in report["addOn"].items():
        added, deleted = change["primariesAdded"] or "none", change["primariesDeleted"] or "none"
        lines.append(f"- {code}: primaries added {added}, deleted {deleted}")
    if not report["addOn"]:
        lines.append("- no change")
    for key, change in report.get("hcpcs", {}).items():
        lines += ["", f"## HCPCS Level II {key}", ""]
        added, removed = change["added"], change["removed"]
        lines.append(f"- Added ({len(added)}): {', '.join(added) or 'none'}")
        lines.append(f"- Not in the release any more ({len(removed)}): {', '.join(removed) or 'none'}")
        for code, fields in change["changed"].items():
            lines.append(f"- {code}: " + "; ".join(f"{f['field']} {f['from']} -> {f['to']}" for f in fields))
        if not change["changed"]:
            lines.append("- Changed: none")
    for name, changes in report.get("fhir", {}).items():
        lines += ["", f"## FHIR content: `{name}`", ""]
        lines += [f"- {c['code']} {c['property']}: {c['from']} -> {c['to']}" for c in changes] or [
            "- no change"
        ]
    return "\n".join(lines) + "\n"
