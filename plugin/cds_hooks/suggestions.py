"""The resources suggestion actions carry: the full order, changed so it reads as one consistent order.

An EHR that accepts a suggestion stores the resource as given. So a recoded order must not keep text,
displays, other codings or coverage information that still describe the old code, and a quantity
change must not leave a second quantity[x] beside the new one.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from plugin.cds_hooks.fhir import CPT, as_dict, as_list, as_str, contained

# The OID form of the CPT code system; some EHRs send it instead of (or beside) the canonical URL.
CPT_OID = "urn:oid:2.16.840.1.113883.6.12"
CPT_SYSTEMS = (CPT, CPT_OID)
COVERAGE_INFORMATION = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
QUANTITY_CHOICES = ("quantityQuantity", "quantityRatio", "quantityRange")


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())


def _names_old(text: Any, old: str, old_names: set[str]) -> bool:
    """Does this text stand for the old code: its display, or the code itself as a word?"""
    if not isinstance(text, str):
        return False
    return _normal(text) in old_names or re.search(rf"(?<!\d){re.escape(old)}(?!\d)", text) is not None


def _coded_concepts(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """The CodeableConcepts that carry the ordered code (where facts.build_orders reads it)."""
    if resource.get("resourceType") != "Appointment":
        return [c for c in [resource.get("code")] if isinstance(c, dict)]
    concepts = [*as_list(resource.get("serviceType")), resource.get("appointmentType")]
    for ref in as_list(resource.get("basedOn")):
        request = contained(resource, ref)
        if request:
            concepts.append(request.get("code"))
    return [c for c in concepts if isinstance(c, dict)]


def _recode_concept(
    concept: dict[str, Any], old: str, new: str, display: str | None, old_names: set[str]
) -> bool:
    codings = as_list(concept.get("coding"))
    targets = [
        c
        for c in codings
        if isinstance(c, dict) and c.get("system") in CPT_SYSTEMS and str(c.get("code", "")).strip() == old
    ]
    if not targets:
        return False
    names = old_names | {_normal(c["display"]) for c in targets if as_str(c.get("display"))}
    kept: list[Any] = []
    seen: set[tuple[Any, str]] = set()
    for coding in codings:
        if coding in targets:
            coding["code"] = new
            if display:
                coding["display"] = display
            else:
                coding.pop("display", None)
        elif isinstance(coding, dict) and _names_old(coding.get("display"), old, names):
            # Another coding (e.g. a local order-catalog entry) whose display is the old code's name
            # identifies the old procedure; kept, it would contradict the new code, and its own
            # counterpart is unknown here, so it goes. Codings that do not name the old code stay.
            continue
        if isinstance(coding, dict) and coding.get("system") in CPT_SYSTEMS:
            key = (coding["system"], str(coding.get("code", "")).strip())
            if key in seen:  # the order already carried the counterpart: one coding of it is enough
                continue
            seen.add(key)
        kept.append(coding)
    concept["coding"] = kept
    # code.text is the name of the concept the user chose, and the suggestion changes that concept,
    # so text written for the old code no longer describes the order, whether it repeats the old
    # display, names the old code or words it differently ("adult ECMO cannulation"): an EHR that
    # shows text before codings would show the old procedure on the new order. It becomes the new
    # code's display (dropped when that is unknown, so the coding speaks for itself). Clinical detail
    # belongs in orderDetail and note, which are left as they are; the clinician sees the change
    # before accepting it.
    if "text" in concept:
        if display:
            concept["text"] = display
        else:
            concept.pop("text")
    return True


def _coverage_for_old_code(extension: Any, old: str) -> bool:
    """A CRD coverage-information extension decided for the old code (or for the order as it was)."""
    if not isinstance(extension, dict) or extension.get("url") != COVERAGE_INFORMATION:
        return False
    billing = [
        as_dict(part.get("valueCoding"))
        for part in as_list(extension.get("extension"))
        if isinstance(part, dict) and part.get("url") == "billingCode"
    ]
    return not billing or any(str(b.get("code", "")).strip() == old for b in billing)


def recode(
    resource: dict[str, Any], old: str, new: str, display: str | None, old_display: str | None = None
) -> dict[str, Any]:
    """The full resource with CPT `old` replaced by `new` (display from the terminology content),
    and nothing left that still names the old code."""
    updated = copy.deepcopy(resource)
    old_names = {_normal(old_display)} if old_display else set()
    changed = [_recode_concept(c, old, new, display, old_names) for c in _coded_concepts(updated)]
    if any(changed) and isinstance(updated.get("extension"), list):
        # Coverage information answers for the order's code; for the new code the EHR asks again.
        updated["extension"] = [e for e in updated["extension"] if not _coverage_for_old_code(e, old)]
        if not updated["extension"]:
            updated.pop("extension")
    return updated


def set_quantity(resource: dict[str, Any], value: int) -> dict[str, Any]:
    """The full resource with quantityQuantity.value set (its unit kept) and no other quantity[x]."""
    updated = copy.deepcopy(resource)
    updated["quantityQuantity"] = {**as_dict(updated.get("quantityQuantity")), "value": value}
    for key in QUANTITY_CHOICES[1:]:
        updated.pop(key, None)
    return updated
