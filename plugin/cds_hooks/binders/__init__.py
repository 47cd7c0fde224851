"""Binders: how a rule's `match.kind` turns the request's facts into the bindings its condition tests.

The registry is explicit: a binder is known because it is listed in DEFAULT_BINDERS below, never
because a module was imported. `registry()` builds the kind -> Binder map the engine compiles rules
against (plugin/cds_hooks/__init__.py passes it to engine.load_rules); a deployment or a test can
build one with more binders. Each module holds one topic's binders:

    age.py            order-age              the patient's age on each order's date of service
    site.py           order-setting          facility / non-facility place of service
    documentation.py  order-documentation    the note elements the order context shows
    coding_edits.py   ptp, add-on, mue       NCCI edits among the draft orders
    payer.py          coverage, coverage-information   the payer on file and its policy
    request.py        prefetch-issue         prefetch keys the service could not have
    diagnosis.py      order-diagnosis        ICD-10-CM reason codes: billable, header, or not a code
    common.py         the order and request facts every binder shares
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from plugin.cds_hooks.binders import age, coding_edits, diagnosis, documentation, payer, request, site
from plugin.cds_hooks.contract import Binder

__all__ = ["DEFAULT_BINDERS", "registry"]

DEFAULT_BINDERS: tuple[Binder, ...] = (
    age.ORDER_AGE,
    site.ORDER_SETTING,
    documentation.ORDER_DOCUMENTATION,
    coding_edits.PTP,
    coding_edits.ADD_ON,
    coding_edits.MUE,
    payer.COVERAGE,
    payer.COVERAGE_INFORMATION,
    request.PREFETCH_ISSUE,
    diagnosis.ORDER_DIAGNOSIS,
)


def registry(binders: Iterable[Binder] = DEFAULT_BINDERS) -> Mapping[str, Binder]:
    """kind -> Binder, read-only; two binders of one kind are a programming error."""
    found: dict[str, Binder] = {}
    for binder in binders:
        if binder.kind in found:
            raise ValueError(f"two binders of kind {binder.kind!r}")
        found[binder.kind] = binder
    return MappingProxyType(found)
