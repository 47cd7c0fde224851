"""What the benchmark sends: one `Endpoint` per measured request, with a check of its answer.

A check runs once before an endpoint is measured, so a number is never reported for an endpoint
that answers with an error (a fast 404 would look like a great result).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import orjson

from tools.bench import content, payloads
from tools.bench.floor import FLOOR_JWT_PATH, FLOOR_PATH

CPT = payloads.CPT
# The value set of the ECMO/ECLS cannulation family published in fhir_bundles/.
FAMILY_VALUESET = "https://fhir.cpt-plugin.org/ValueSet/ecmo-ecls-family"
FILTER_WORD = "femoral"
FILTER_COUNT = 20
# ICD-10-CM, as the product serves it by default (the CDC tabular the simple-icd-10-cm package ships).
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10CM_CODE = "J96.01"  # acute respiratory failure with hypoxia, an ECMO indication
ICD10CM_WORD = "fracture"  # one of the tabular's commonest words: ~20,000 of its 98,500 concepts
ICD10CM_ISA = ("19", "femur fracture")  # chapter 19 (injuries, ~54,000 concepts), ~2,900 matches
JSON = {"Content-Type": "application/json"}

Check = Callable[[int, bytes], str | None]


@dataclass
class Endpoint:
    name: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    check: Check | None = None
    note: str = ""
    # (header, prefix, values): a different value per request, e.g. a fresh JWT (wrk only).
    rotate: tuple[str, str, list[str]] | None = None
    rotate_used: int = 0  # values already sent by earlier runs (each wrk process starts afresh)
    # The server keeps no record of the values (the JWT floor): each run may start from the first again.
    rotate_reusable: bool = False
    # A different body per request, in turn (wrk only); `body` is the first, the one the answer is checked on.
    bodies: list[bytes] | None = None

    @property
    def request_bytes(self) -> int:
        if self.bodies:
            return round(sum(map(len, self.bodies)) / len(self.bodies))
        return len(self.body or b"")


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _parameter(resource: Any, name: str) -> Any:
    for param in (resource or {}).get("parameter", []):
        if param.get("name") == name:
            return next((v for k, v in param.items() if k.startswith("value")), True)
    return None


def expect_cards(status: int, body: bytes) -> str | None:
    data = _json(body)
    if status != 200 or not isinstance(data, dict) or not isinstance(data.get("cards"), list):
        return f"HTTP {status}, expected 200 with a cards list: {body[:200]!r}"
    return None


def expect_parameters(name: str, value: Any = None) -> Check:
    def check(status: int, body: bytes) -> str | None:
        data = _json(body)
        if status != 200 or not isinstance(data, dict) or data.get("resourceType") != "Parameters":
            return f"HTTP {status}, expected 200 with Parameters: {body[:200]!r}"
        found = _parameter(data, name)
        if found is None or (value is not None and found != value):
            return f"Parameters has {name}={found!r}, expected {value if value is not None else 'a value'}"
        return None

    return check


def expect_expansion(min_contains: int = 1) -> Check:
    def check(status: int, body: bytes) -> str | None:
        data = _json(body)
        if status != 200 or not isinstance(data, dict) or data.get("resourceType") != "ValueSet":
            return f"HTTP {status}, expected 200 with a ValueSet: {body[:200]!r}"
        contains = (data.get("expansion") or {}).get("contains") or []
        if len(contains) < min_contains:
            return f"expansion has {len(contains)} codes, expected at least {min_contains}"
        return None

    return check


def expect_floor(status: int, body: bytes) -> str | None:
    return None if status == 200 and b'"cards"' in body else f"floor answered HTTP {status}"


def _get(path: str, params: dict[str, Any]) -> str:
    return f"{path}?{urlencode(params)}"


def hook_body(conditions: int = 2) -> bytes:
    return orjson.dumps(payloads.order_sign_request(conditions))


def floor_endpoint() -> Endpoint:
    return Endpoint(
        "floor",
        "POST",
        FLOOR_PATH,
        hook_body(),
        JSON,
        expect_floor,
        "bare Flask: parse the hook's JSON body, return a 1 KB card",
    )


def varied_hook_endpoint(count: int = 64) -> Endpoint:
    """order-sign with a different call each time: ages, payers, codes, reasons and notes vary
    (payloads.varied_order_sign_requests), so no answer is the same twice in a row."""
    bodies = [orjson.dumps(call) for call in payloads.varied_order_sign_requests(count)]
    return Endpoint(
        "order-sign-varied",
        "POST",
        f"/cds-services/{payloads.SERVICE_ID}",
        bodies[0],
        JSON,
        expect_cards,
        f"order-sign, {count} different calls in turn (ages, payers, codes, reasons, notes)",
        bodies=bodies,
    )


def main_endpoints(family_valueset: str = FAMILY_VALUESET, filter_size: int = 100_000) -> list[Endpoint]:
    """The endpoints the targets are about, in the order they are measured."""
    return [
        Endpoint(
            "order-sign",
            "POST",
            f"/cds-services/{payloads.SERVICE_ID}",
            hook_body(),
            JSON,
            expect_cards,
            "order-sign for CPT 33952, prefetch: patient, coverage, encounter, 1 condition, 1 consent",
        ),
        Endpoint(
            "validate-code",
            "GET",
            _get("/fhir/ValueSet/$validate-code", {"url": family_valueset, "system": CPT, "code": "33952"}),
            check=expect_parameters("result", True),
            note="ValueSet/$validate-code, family value set",
        ),
        Endpoint(
            "validate-code-icd10cm",
            "GET",
            _get(
                "/fhir/ValueSet/$validate-code",
                {"url": f"{ICD10CM}?fhir_vs", "system": ICD10CM, "code": ICD10CM_CODE},
            ),
            check=expect_parameters("result", True),
            note=f"ValueSet/$validate-code of ICD-10-CM {ICD10CM_CODE}, the whole code system's value set",
        ),
        Endpoint(
            "lookup",
            "GET",
            _get("/fhir/CodeSystem/$lookup", {"system": CPT, "code": "33952"}),
            check=expect_parameters("display"),
            note="CodeSystem/$lookup of 33952",
        ),
        Endpoint(
            "expand-family",
            "GET",
            _get("/fhir/ValueSet/$expand", {"url": family_valueset}),
            check=expect_expansion(),
            note="ValueSet/$expand of the family value set",
        ),
        Endpoint(
            f"expand-filter-{filter_size // 1000}k",
            "GET",
            _get(
                "/fhir/ValueSet/$expand",
                {"url": content.valueset_url(filter_size), "filter": FILTER_WORD, "count": FILTER_COUNT},
            ),
            check=expect_expansion(),
            note=f"$expand filter={FILTER_WORD!r} count={FILTER_COUNT} over {filter_size:,} concepts",
        ),
    ]


def _icd10cm_expand(name: str, valueset: str, words: str, what: str) -> Endpoint:
    """$expand of an ICD-10-CM value set with a text filter, one page of FILTER_COUNT."""
    return Endpoint(
        name,
        "GET",
        _get("/fhir/ValueSet/$expand", {"url": valueset, "filter": words, "count": FILTER_COUNT}),
        check=expect_expansion(FILTER_COUNT),
        note=f"$expand of {what} filter={words!r} count={FILTER_COUNT}",
    )


def icd10cm_endpoints() -> list[Endpoint]:
    """$expand with a text filter over ICD-10-CM: the whole code system, and an is-a value set."""
    code, words = ICD10CM_ISA
    return [
        _icd10cm_expand(
            "expand-icd10cm-filter", f"{ICD10CM}?fhir_vs", ICD10CM_WORD, "ICD-10-CM (98,500 concepts)"
        ),
        _icd10cm_expand(
            "expand-icd10cm-isa-filter", f"{ICD10CM}?fhir_vs=isa/{code}", words, f"ICD-10-CM is-a {code}"
        ),
    ]


def icd10cm_probe() -> Endpoint:
    """Whether a server serves ICD-10-CM (the memory rows say so)."""
    return Endpoint(
        "lookup-icd10cm",
        "GET",
        _get("/fhir/CodeSystem/$lookup", {"system": ICD10CM, "code": ICD10CM_CODE}),
        check=expect_parameters("display"),
    )


def jwt_endpoint(tokens: list[str]) -> Endpoint:
    """order-sign with a fresh ES384 client JWT per request (tools/bench/jwt.py); the first token
    serves the answer check, the rest are sent in turn."""
    return Endpoint(
        "order-sign-jwt",
        "POST",
        f"/cds-services/{payloads.SERVICE_ID}",
        hook_body(),
        {**JSON, "Authorization": f"Bearer {tokens[0]}"},
        expect_cards,
        "order-sign as order-sign, JWT required: ES384 verification and jti replay claim on every call",
        rotate=("Authorization", "Bearer ", tokens[1:]),
    )


def floor_jwt_endpoint(tokens: list[str]) -> Endpoint:
    """The JWT floor (tools/bench/floor.py): the plain floor behind the same ES384 verification."""
    return Endpoint(
        "floor-jwt",
        "POST",
        FLOOR_JWT_PATH,
        hook_body(),
        {**JSON, "Authorization": f"Bearer {tokens[0]}"},
        expect_floor,
        "bare Flask verifying the same ES384 JWT (PyJWT, same key, fresh token per request), then the floor",
        rotate=("Authorization", "Bearer ", tokens[1:]),
        rotate_reusable=True,
    )


def scaling_endpoints(size: int, probe_code: str) -> list[Endpoint]:
    """Terminology operations against the generated code system of `size` concepts."""
    system = content.system_url(size)
    return [
        Endpoint(
            f"validate-code@{size}",
            "GET",
            _get("/fhir/CodeSystem/$validate-code", {"url": system, "code": probe_code}),
            check=expect_parameters("result", True),
        ),
        Endpoint(
            f"lookup@{size}",
            "GET",
            _get("/fhir/CodeSystem/$lookup", {"system": system, "code": probe_code}),
            check=expect_parameters("display"),
        ),
        Endpoint(
            f"expand-filter@{size}",
            "GET",
            _get(
                "/fhir/ValueSet/$expand",
                {"url": content.valueset_url(size), "filter": FILTER_WORD, "count": FILTER_COUNT},
            ),
            check=expect_expansion(),
        ),
    ]


def hook_scaling_endpoints(sizes: list[int]) -> list[Endpoint]:
    """order-sign with the conditions search grown to `n` entries (prefetch = 4 + n resources)."""
    return [
        Endpoint(
            f"order-sign@{4 + n}",
            "POST",
            f"/cds-services/{payloads.SERVICE_ID}",
            hook_body(n),
            JSON,
            expect_cards,
            f"prefetch with {4 + n} resources",
        )
        for n in sizes
    ]
