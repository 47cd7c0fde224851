"""Page sections read from the dated fact snapshots (cds_hooks/facts, through the CDS area's loader)
and the CDS rules: Medicare indicators, code-pair edits and MUE, payers, site of service, rules.

Each fact keeps its sources (numbered in the page's SourceBook) and its as-of date; what a snapshot
says it did not verify is shown as its caveat.
"""

from __future__ import annotations

from typing import Any

from plugin.cds_hooks.tables import Tables
from plugin.pages.sources import SourceBook

# Presentation labels of the PFS indicator fields, in the order CMS's file lists them.
PFS_FIELDS = (
    ("status", "Status"),
    ("pcTc", "PC/TC indicator"),
    ("global", "Global surgery days"),
    ("multipleProcedure", "Multiple procedure (modifier 51)"),
    ("bilateral", "Bilateral surgery (modifier 50)"),
    ("assistant", "Assistant at surgery (80/81/82/AS)"),
    ("coSurgeon", "Co-surgeons (modifier 62)"),
    ("team", "Team surgery (modifier 66)"),
    ("nonFacilityPrice", "Non-facility (office) price"),
)
# Where a PFS release's national payment for a code would be read, when the snapshot carries one.
PAYMENT_KEYS = ("nationalPayment", "payment")


def fact(text: str, refs: list[int], **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"text": text, "refs": refs}
    item.update({k: v for k, v in extra.items() if v not in (None, "", [])})
    return item


def _table_refs(tables: Tables, table_id: str, book: SourceBook) -> list[int]:
    data = tables.files.get(table_id)
    if data is None:
        return []
    return [book.cite_fact_source(s, data.get("asOf")) for s in tables.source_of(table_id)]


def caveat(tables: Tables, table_id: str, book: SourceBook) -> dict[str, Any] | None:
    data = tables.files.get(table_id) or {}
    text = data.get("caveat")
    return fact(str(text), _table_refs(tables, table_id, book), asOf=data.get("asOf")) if text else None


def medicare(tables: Tables, code: str, book: SourceBook) -> dict[str, Any]:
    data = tables.files.get("medicare-pfs-indicators") or {}
    entry = (data.get("codes") or {}).get(code) or {}
    refs = _table_refs(tables, "medicare-pfs-indicators", book)
    meanings = data.get("meanings") or {}
    indicators = [
        fact(
            str(entry[key]),
            refs,
            field=key,
            label=label,
            meaning=(meanings.get(key) or {}).get(str(entry[key])),
            asOf=data.get("asOf"),
        )
        for key, label in PFS_FIELDS
        if key in entry
    ]
    payment = next((entry[k] for k in PAYMENT_KEYS if isinstance(entry.get(k), dict)), None)
    return {
        "indicators": indicators,
        "payment": {**payment, "refs": refs} if payment else None,
        "caveat": caveat(tables, "medicare-pfs-indicators", book),
    }


def _codes_text(items: list[str]) -> str:
    return ", ".join(items)


def edits(tables: Tables, code: str, book: SourceBook) -> dict[str, Any]:
    """NCCI PTP pairs with the code on either side, its MUE, and add-on relations."""
    ptp = tables.files.get("ncci-ptp-practitioner") or {}
    indicator_text = ptp.get("modifierIndicators") or {}
    refs = _table_refs(tables, "ncci-ptp-practitioner", book)

    def row(edit: Any, side: str) -> dict[str, Any]:
        raw = edit.row
        indicator = str(raw.get("modifierIndicator"))
        return fact(
            raw.get("note") or raw.get("rationale") or "",
            refs,
            note=raw.get("note"),
            codes=_codes_text(raw["column2"] if side == "column1" else raw["column1"]),
            modifierIndicator=indicator,
            indicatorMeaning=indicator_text.get(indicator),
            rationale=raw.get("rationale"),
            bypassModifiers=", ".join(raw.get("bypassModifiers") or []),
            asOf=ptp.get("asOf"),
        )

    bundles = [row(e, "column1") for e in tables.ptp if e.column1.match(code)]
    bundled_into = [row(e, "column2") for e in tables.ptp if e.column2.match(code)]
    mue_file = tables.files.get("ncci-mue") or {}
    mue_row = tables.mue.get(code)
    mue = None
    if mue_row is not None:
        mai = str(mue_row.get("mai"))
        mue = fact(
            str(mue_row.get("mue")),
            _table_refs(tables, "ncci-mue", book),
            mai=mai,
            maiMeaning=(mue_file.get("mai") or {}).get(mai),
            rationale=mue_row.get("rationale"),
            note=mue_row.get("note"),
            asOf=mue_file.get("asOf"),
        )
        if mue_file.get("maiSource"):
            mue["refs"] = [*mue["refs"], book.cite_fact_source(mue_file["maiSource"], mue_file.get("asOf"))]
    aoc = tables.files.get("ncci-add-on-codes") or {}
    add_on = [
        fact(
            row.get("note") or "",
            _table_refs(tables, "ncci-add-on-codes", book),
            addOn=row["addOn"],
            primaries=_codes_text(row.get("primaries") or []),
            asOf=aoc.get("asOf"),
        )
        for row in tables.add_ons.values()
        if row["addOn"] == code or code in (row.get("primaries") or [])
    ]
    return {
        "bundles": bundles,
        "bundledInto": bundled_into,
        "mue": mue,
        "addOn": add_on,
        "caveats": [c for c in (caveat(tables, t, book) for t in ("ncci-ptp-practitioner", "ncci-mue")) if c],
    }


def payers(tables: Tables, book: SourceBook) -> dict[str, Any]:
    data = tables.files.get("payer-classification") or {}
    policies = data.get("policies") or {}
    found = []
    for payer in data.get("payers") or []:
        policy = policies.get(payer.get("kind")) or {}
        refs = [book.cite_fact_source(s, data.get("asOf")) for s in policy.get("sources") or []]
        found.append(
            fact(
                policy.get("finding") or "No finding in the sources: not verified.",
                refs,
                name=payer.get("name"),
                kind=payer.get("kind"),
                confidence=policy.get("confidence") or "not verified",
            )
        )
    prior = data.get("priorAuthorization") or {}
    prior_refs = [book.cite_fact_source(s, data.get("asOf")) for s in prior.get("sources") or []]
    return {
        "payers": found,
        "priorAuthorization": [
            fact(str(prior[k]), prior_refs, label=k, note=prior.get("label"))
            for k in ("emergent", "planned")
            if prior.get(k)
        ],
    }


def places_of_service(tables: Tables, book: SourceBook) -> list[dict[str, Any]]:
    data = tables.files.get("place-of-service") or {}
    refs = _table_refs(tables, "place-of-service", book)
    rows = [
        fact(str(name), refs, code=code, setting=setting, asOf=data.get("asOf"))
        for setting, key in (("facility", "facility"), ("non-facility", "nonFacility"))
        for code, name in (data.get(key) or {}).items()
    ]
    return rows


def payer_places_of_service(tables: Tables, book: SourceBook) -> list[dict[str, Any]]:
    """Places of service a payer's own policy lists as facility, beyond CMS's: each stated as that
    payer's, with the payer's source and confidence (it holds for that payer only)."""
    data = tables.files.get("place-of-service") or {}
    listed = set(data.get("facility") or {}) | set(data.get("nonFacility") or {})
    rows = []
    for entry in data.get("payerFacility") or []:
        codes = [c for c in entry.get("codes") or [] if c not in listed]
        if not codes:
            continue
        refs = [book.cite_fact_source(entry["source"], data.get("asOf"))] if entry.get("source") else []
        text = f"{entry['finding']}: POS {', '.join(codes)}. For other payers these are not verified."
        rows.append(fact(text, refs, payer=entry.get("name"), confidence=entry.get("confidence")))
    return rows


def rules_for(rules: list[Any], code: str, book: SourceBook) -> list[dict[str, Any]]:
    """The CDS rules a draft order of this code can fire, with their dated sources."""
    found = []
    for rule in rules:
        if rule.codes is None or not rule.triggered(code):
            continue
        refs = [book.cite_fact_source(s) for s in rule.sources]
        found.append(
            fact(rule.title, refs, id=rule.id, version=rule.version, topic=rule.topic, file=rule.file)
        )
    return found
