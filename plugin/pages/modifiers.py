"""The modifier sections: the table on a code's page, and the page of one modifier applicability row."""

from __future__ import annotations

from typing import Any

from plugin.cds_hooks.fhir import CPT, as_str
from plugin.pages.content import (
    APPLICABILITY_SYSTEM,
    HCPCS,
    MODIFIER_LEVELS,
    applicability_map_url,
    concept,
    modifier_rows,
    walk,
)
from plugin.pages.facts import fact
from plugin.pages.inputs import Inputs, concept_fact
from plugin.pages.sources import SourceBook, split_comment
from plugin.pages.urls import code_page_url


def modifier_row(inputs: Inputs, code: str, target: Any, book: SourceBook) -> dict[str, Any]:
    reason, citations, as_of = split_comment(target.comment)
    modifier = concept(inputs.registry, target.source_system, target.source_code)
    category = concept(inputs.registry, APPLICABILITY_SYSTEM, target.code)
    return fact(
        reason,
        book.cite_text(citations, as_of),
        modifier=target.source_code,
        url=code_page_url(code, target.source_code),
        level=MODIFIER_LEVELS.get(target.source_system, target.source_system),
        name=modifier.display if modifier else None,
        category=target.code,
        categoryDisplay=category.display if category else target.code,
        asOf=as_of,
    )


def modifiers_section(inputs: Inputs, code: str, book: SourceBook) -> dict[str, Any]:
    rows = [modifier_row(inputs, code, t, book) for t in modifier_rows(inputs.registry, code)]
    categories = inputs.registry.get(APPLICABILITY_SYSTEM) or {}
    order = {str(c.get("code")): i for i, c in enumerate(walk(categories.get("concept")))}
    rows.sort(key=lambda r: order.get(r["category"], len(order)))
    return {"map": applicability_map_url(inputs.registry, code), "rows": rows}


def modifier_page(inputs: Inputs, code: str, modifier: str) -> dict[str, Any] | None:
    """The page of one modifier applicability row (base code + modifier), or None when no map has it."""
    target = next((t for t in modifier_rows(inputs.registry, code) if t.source_code == modifier), None)
    if target is None:
        return None
    book = SourceBook()
    base = concept(inputs.registry, CPT, code)
    found = concept(inputs.registry, target.source_system, modifier)
    category = concept(inputs.registry, APPLICABILITY_SYSTEM, target.code)
    row = modifier_row(inputs, code, target, book)
    return {
        "kind": "modifier",
        "code": f"{code}:{modifier}",
        "url": code_page_url(code, modifier),
        "base": {"code": code, "display": base.display if base else None, "url": code_page_url(code)},
        "modifier": {
            "code": modifier,
            "system": target.source_system,
            "level": MODIFIER_LEVELS.get(target.source_system, target.source_system),
            "facts": [
                f
                for f in (
                    concept_fact(found, book, found.display if found else None, label="Name"),
                    concept_fact(found, book, found.definition if found else None, label="Meaning"),
                )
                if f
            ],
        },
        "applicability": row,
        "category": concept_fact(
            category,
            book,
            category.definition if category else None,
            label=category.display if category else None,
        ),
        "map": applicability_map_url(inputs.registry, code),
        "copyright": as_str(found.resource.get("copyright")) if found and found.system != HCPCS else None,
        "sources": book.as_json(),
    }
