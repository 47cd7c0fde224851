"""What the pages read, and the small helpers every section shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plugin.cds_hooks.fhir import CPT
from plugin.cds_hooks.tables import Tables
from plugin.pages.content import FAMILY_VALUE_SET, value_set_codes
from plugin.pages.facts import fact
from plugin.pages.sources import SourceBook
from plugin.terminology.model.registry import Registry


@dataclass(frozen=True)
class Inputs:
    """What the pages read: the terminology registry and, when the CDS area is loaded, its fact
    tables and rules (a terminology-only deployment shows the FHIR content alone)."""

    registry: Registry
    tables: Tables | None
    rules: list[Any]


def family_codes(inputs: Inputs) -> list[str]:
    url = FAMILY_VALUE_SET
    if inputs.tables is not None:
        url = (inputs.tables.files.get("ecmo-cannulation-family") or {}).get("valueSet", url)
    return [code for system, code in value_set_codes(inputs.registry, url) if system == CPT]


def concept_fact(found: Any, book: SourceBook, text: str | None, **extra: Any) -> dict[str, Any] | None:
    """A fact read from a concept, citing the concept's sources and dated with its as-of."""
    if found is None or not text:
        return None
    return fact(text, book.cite_text(found.source, found.as_of), asOf=found.as_of, **extra)
