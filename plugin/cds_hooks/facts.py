"""Stage 2: the facts a request establishes, read once from the context and the resolved prefetch.

Orders (every draft order, and which ones are in scope: the selections for order-select, all of them
for order-sign, the appointments for appointment-book), each with its CPT code, units and date of
service; the patient's birth date as a range; the setting; the payer on the active Coverage; active
conditions and consents; and which prefetch keys could not be had.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from plugin import clock
from plugin.cds_hooks.fhir import (
    CPT,
    as_dict,
    as_list,
    as_str,
    codes_in,
    codings,
    contained,
    is_resource,
    reference_of,
    resources,
)
from plugin.cds_hooks.tables import Tables
from plugin.dates import DateRange, parse_fhir_date

EMERGENT_PRIORITIES = frozenset({"stat", "asap", "urgent"})
ROUTINE_PRIORITIES = frozenset({"routine"})


@dataclass
class Order:
    """One draft order (ServiceRequest) or appointment that carries a CPT code."""

    ref: str | None
    resource: dict[str, Any]
    code: str
    codes: list[str]
    display: str | None
    quantity: float
    service_date: DateRange
    service_date_source: str
    selected: bool
    in_family: bool
    priority: str | None
    pos: list[str]
    resource_type: str  # ServiceRequest or Appointment
    label: str  # "33952 (ServiceRequest/1)", or the code alone for an order without an id
    # What rules read of this order (binders.order_view), built on first use and then shared.
    view: dict[str, Any] | None = field(default=None, repr=False, compare=False)


@dataclass
class Payer:
    kind: str | None  # medicare, blue, aetna, cigna, uhc; None = not recognised
    name: str
    matched: str
    coverage_ref: str | None
    coverage: dict[str, Any]


@dataclass
class Facts:
    hook: str
    service_id: str
    request_date: dt.date
    base_url: str
    patient: dict[str, Any] | None
    birth_date: DateRange | None
    birth_date_issue: str | None
    orders: list[Order]
    encounter: dict[str, Any] | None
    payer: Payer | None
    conditions: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    prefetch_issues: dict[str, str] = field(default_factory=dict)
    # Views several binders read (the request, the payer), built once per call.
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # The orders the hook is about (selected), and those of the ECMO/ECLS family among them; several
    # binders read them, and the orders do not change once the facts are built.
    in_scope: list[Order] = field(init=False, repr=False, compare=False)
    family_in_scope: list[Order] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.in_scope = [o for o in self.orders if o.selected]
        self.family_in_scope = [o for o in self.in_scope if o.in_family]


def _quantity(resource: dict[str, Any]) -> float:
    value = as_dict(resource.get("quantityQuantity")).get("value")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return 1.0


def _service_date(resource: dict[str, Any], request_date: dt.date) -> tuple[DateRange, str]:
    """Date of service in the order's own calendar: occurrence, else authoredOn, else the request date."""
    if resource.get("resourceType") == "Appointment":
        candidates = [
            ("Appointment.start", resource.get("start")),
            (
                "Appointment.requestedPeriod.start",
                as_dict(next(iter(as_list(resource.get("requestedPeriod"))), {})).get("start"),
            ),
            ("Appointment.created", resource.get("created")),
        ]
    else:
        parsed = parse_fhir_date(resource.get("occurrenceDateTime"))  # the usual case, read first
        if parsed is not None:
            return parsed, "occurrenceDateTime"
        candidates = [
            ("occurrencePeriod.start", as_dict(resource.get("occurrencePeriod")).get("start")),
            ("authoredOn", resource.get("authoredOn")),
        ]
    for source, value in candidates:
        parsed = parse_fhir_date(value)
        if parsed is not None:
            return parsed, source
    return DateRange.of(request_date), "the request date"


def _pos_codes(resource: dict[str, Any], pos_systems: list[str]) -> list[str]:
    concepts = list(as_list(resource.get("locationCode")))
    for ref in as_list(resource.get("locationReference")):
        location = contained(resource, ref)
        if location:
            concepts += as_list(location.get("type"))
    return [code for concept in concepts for system in pos_systems for code in codes_in(concept, system)]


def _appointment_codes(appointment: dict[str, Any]) -> list[dict[str, Any]]:
    concepts = list(as_list(appointment.get("serviceType"))) + [appointment.get("appointmentType")]
    for ref in as_list(appointment.get("basedOn")):
        request = contained(appointment, ref)
        if request:
            concepts.append(request.get("code"))
    return [c for concept in concepts for c in codings(concept)]


def build_orders(hook: str, context: dict[str, Any], tables: Tables, request_date: dt.date) -> list[Order]:
    if hook == "appointment-book":
        bundle, resource_types = context.get("appointments"), ("Appointment",)
    else:
        bundle, resource_types = context.get("draftOrders"), ("ServiceRequest",)
    selections = set(as_list(context.get("selections"))) if hook == "order-select" else None
    pos_systems = tables.files.get("place-of-service", {}).get("posSystems", [])
    family_codes = tables.family
    orders = []
    for resource in resources(bundle):
        resource_type = resource.get("resourceType")
        if resource_type not in resource_types:
            continue
        if resource_type == "Appointment":
            coding_list = _appointment_codes(resource)
        else:
            coding_list = codings(resource.get("code"))
        cpt = [c for c in coding_list if c.get("system") == CPT and as_str(c.get("code"))]
        if not cpt:
            continue
        codes = [c["code"].strip() for c in cpt]
        family = [i for i, code in enumerate(codes) if code in family_codes]
        primary = cpt[family[0]] if family else cpt[0]
        ref = reference_of(resource)
        service_date, source = _service_date(resource, request_date)
        code = codes[family[0]] if family else codes[0]
        orders.append(
            Order(
                ref=ref,
                resource=resource,
                code=code,
                codes=codes,
                display=as_str(primary.get("display")),
                quantity=_quantity(resource),
                service_date=service_date,
                service_date_source=source,
                selected=selections is None or (ref is not None and ref in selections),
                in_family=bool(family),
                priority=as_str(resource.get("priority")),
                pos=_pos_codes(resource, pos_systems) if pos_systems else [],
                resource_type=resource_type,
                label=f"{code} ({ref})" if ref else code,
            )
        )
    return orders


def _birth_date(patient: dict[str, Any] | None) -> tuple[DateRange | None, str | None]:
    if patient is None:
        return None, "the patient record has no birth date"
    value = patient.get("birthDate")
    if value is None:
        return None, "the patient record has no birth date"
    parsed = parse_fhir_date(value, allow_time=False)
    if parsed is None:
        return None, f"the birth date {str(value)[:40]!r} is not a valid FHIR date"
    return parsed, None


def _coverage_order(coverage: dict[str, Any]) -> int:
    return coverage.get("order") if isinstance(coverage.get("order"), int) else 1_000_000


def _payer(coverage_value: Any, tables: Tables) -> Payer | None:
    active = [c for c in resources(coverage_value, "Coverage") if c.get("status") in (None, "active")]
    if not active:
        return None
    if len(active) > 1:
        active.sort(key=_coverage_order)
    coverage = active[0]
    # The words that name the payer, in order: each payor's display, identifier value and contained
    # Organization name, then each class name (empty or non-text values skipped).
    found: list[Any] = []
    for payor in as_list(coverage.get("payor")):
        if not isinstance(payor, dict):
            continue
        found.append(payor.get("display"))
        found.append(as_dict(payor.get("identifier")).get("value"))
        organization = contained(coverage, payor)
        if organization:
            found.append(organization.get("name"))
    found += [c.get("name") for c in as_list(coverage.get("class")) if isinstance(c, dict)]
    texts = [t for t in found if isinstance(t, str) and t]
    text = " | ".join(texts)
    payer = tables.classify_payer(text)
    return Payer(
        kind=payer["kind"] if payer else None,
        name=payer["name"] if payer else (texts[0] if texts else "the payer on file"),
        matched=text,
        coverage_ref=reference_of(coverage),
        coverage=coverage,
    )


def build_facts(
    *,
    hook: str,
    service_id: str,
    context: dict[str, Any],
    prefetch: dict[str, Any],
    prefetch_issues: dict[str, str],
    tables: Tables,
    base_url: str,
    orders: list[Order] | None = None,
) -> Facts:
    request_date = clock.today()
    patient = prefetch.get("patient") if is_resource(prefetch.get("patient"), "Patient") else None
    birth_date, birth_issue = _birth_date(patient)
    encounter = prefetch.get("encounter") if is_resource(prefetch.get("encounter"), "Encounter") else None
    conditions = resources(prefetch.get("conditions"), "Condition")
    consents = [
        c for c in resources(prefetch.get("consents"), "Consent") if c.get("status") in (None, "active")
    ]
    return Facts(
        hook=hook,
        service_id=service_id,
        request_date=request_date,
        base_url=base_url,
        patient=patient,
        birth_date=birth_date,
        birth_date_issue=birth_issue,
        orders=orders if orders is not None else build_orders(hook, context, tables, request_date),
        encounter=encounter,
        payer=_payer(prefetch.get("coverage"), tables),
        conditions=conditions,
        consents=consents,
        prefetch_issues=dict(prefetch_issues),
    )


def is_emergent(facts: Facts, order: Order | None = None) -> bool | None:
    """True for stat/asap/urgent orders or an emergency encounter, False when planned, None if unknown."""
    if facts.hook == "appointment-book":
        return False
    priorities = {o.priority for o in ([order] if order else facts.family_in_scope) if o.priority}
    encounter_class = as_dict(as_dict(facts.encounter).get("class")).get("code")
    if priorities & EMERGENT_PRIORITIES or encounter_class == "EMER":
        return True
    if priorities and priorities <= ROUTINE_PRIORITIES:
        return False
    return None
