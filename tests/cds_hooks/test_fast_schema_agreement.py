"""The compiled twin validators (jsonschema_rs) accept exactly what the Python jsonschema validators accept.

The request path asks the twin first and the Python validator only when the twin says no, so a twin
that accepted more would weaken validation. Checked on: the test stubs, every synthetic sandbox
scenario's request for each hook, the benchmark's request, mutations of them (values replaced by
wrong types, empty values and awkward strings; keys removed), awkward strings in every pattern-checked
field, feedback bodies, and every pattern of cds_hooks/schemas/ character by character.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from plugin.cds_hooks.fast_schema import portable_pattern
from plugin.cds_hooks.schemas import HOOK_SCHEMAS, Schemas, load_schemas
from plugin.config import PROJECT_ROOT
from plugin.sandbox.hookrequest import build_request
from plugin.sandbox.store import SandboxStore
from tools.bench.payloads import order_sign_request

from . import stubs

SCHEMAS_DIR = PROJECT_ROOT / "cds_hooks" / "schemas"

# Characters on which Python's `re` and ECMA-262 engines disagree (\s, \d, \w, ".", "$"), and friends.
AWKWARD_CHARS = (
    [chr(c) for c in range(0x00, 0x80)]
    + ["\x85", "\xa0", "\u1680", "\u2000", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
    + ["\ufeff", "\u180e", "\u200b", "\u0660", "\u0669", "\u06f5", "\uff10", "\uff19", "\U0001d7ce"]
    + ["\U00011f50", "\U0001e4f0", "\u00b2", "\u2460", "\u00e9", "\u0130", "\u212a", "\U0001f600", "\ud800"]
)
AWKWARD_STRINGS = [
    "",
    " ",
    "a\n",
    "\n",
    "abc\r\n",
    "x" * 64,
    "x" * 65,
    "x" * 100,
    "x" * 101,
    "\U0001f600" * 100,
    "\U0001f600" * 101,
    "http://127.0.0.1:9/fhir",
    "http://127.0.0.1:9/fhir\n",
    "https://a b",
    "http://a\x1cb",
    "http://a\ufeffb",
    "Practitioner/dr-1",
    "Practitioner/dr-1\n",
    "ServiceRequest/sr-1",
    "Bearer",
    "bearer\n",
    "2026-11-25T10:00:00Z",
    "\u0662\u0660\u0662\u0666-11-25T10:00:00Z",
    "2026-11-25T10:00:00.5+01:00\n",
]
AWKWARD_VALUES: list[Any] = [None, 0, -1, 1.0, 1.5, 10**30, True, False, [], {}, [None], {"a": None}]


@pytest.fixture(scope="module")
def schemas() -> Schemas:
    return load_schemas(SCHEMAS_DIR)


def python_valid(schemas: Schemas, name: str, instance: Any) -> bool:
    return next(schemas.validators[name].iter_errors(instance), None) is None


def fast_valid(schemas: Schemas, name: str, instance: Any) -> bool | None:
    try:
        return schemas.fast[name](instance)
    except (ValueError, TypeError, OverflowError, RecursionError):
        return None  # the twin cannot read it; first_error then asks the Python validator


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    result = copy.deepcopy(value)
    if not path:
        return new
    target = result
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = new
    return result


def _remove(value: Any, path: tuple[Any, ...]) -> Any:
    result = copy.deepcopy(value)
    target = result
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return result


def base_requests() -> list[tuple[str, dict[str, Any]]]:
    sr = stubs.service_request
    found: list[tuple[str, dict[str, Any]]] = [
        ("order-sign", stubs.order_sign([sr("sr-1", "33952")], payer="Medicare Part B")),
        (
            "order-sign",
            stubs.order_sign(
                [sr("sr-1", "33952", quantity=2, priority="stat", pos="11"), sr("sr-2", "33957")],
                fhir_server="http://127.0.0.1:9/fhir",
                token="abc",
            ),
        ),
        (
            "order-select",
            stubs.order_select([sr("sr-1", "33952"), sr("sr-2", "36556")], ["ServiceRequest/sr-1"]),
        ),
        ("appointment-book", stubs.appointment_book([stubs.appointment("ap-1", "33952")], payer="Aetna")),
        ("order-sign", order_sign_request(3)),
    ]
    store = SandboxStore([("synthetic", PROJECT_ROOT / "fhir_bundles" / "synthetic")]).load()
    assert len(store.records) >= 20, "the synthetic scenarios are part of the corpus"
    for record in store.records.values():
        base = "http://127.0.0.1:9/sandbox/fhir"
        found += [(hook, build_request(record, hook, base, None)) for hook in ("order-sign", "order-select")]
        found.append(
            (
                "order-sign",
                build_request(
                    record, "order-sign", "http://127.0.0.1:9/sandbox/fhir", None, omit_prefetch=True
                ),
            )
        )
    return found


def mutations(request: dict[str, Any], rng: random.Random, count: int) -> Iterator[dict[str, Any]]:
    paths = list(_paths(request))[1:]
    for path in rng.sample(paths, min(count, len(paths))):
        for new in (*AWKWARD_VALUES, *rng.sample(AWKWARD_STRINGS, 4)):
            yield _replace(request, path, new)
        if not isinstance(path[-1], int):
            yield _remove(request, path)


def test_agreement__requests_and_their_mutations(schemas: Schemas) -> None:
    rng = random.Random(20261125)
    checked = accepted = rejected = 0
    for hook, request in base_requests():
        name = HOOK_SCHEMAS[hook]
        assert python_valid(schemas, name, request), f"a {hook} base request must be valid"
        for hook_schema in HOOK_SCHEMAS.values():  # also every request against the other hooks' schemas
            for instance in [request, *mutations(request, rng, 6 if hook_schema == name else 1)]:
                expected = python_valid(schemas, hook_schema, instance)
                assert fast_valid(schemas, hook_schema, instance) in (expected, None), (
                    f"{hook_schema}: twin and Python validator disagree on {json.dumps(instance)[:400]}"
                )
                checked += 1
                accepted += expected
                rejected += not expected
    assert checked > 3000 and accepted > 100 and rejected > 1000


@pytest.mark.parametrize(
    "path",
    [
        ("fhirServer",),
        ("hookInstance",),
        ("context", "userId"),
        ("context", "patientId"),
        ("context", "encounterId"),
        ("context", "draftOrders", "entry", 0, "resource", "resourceType"),
        ("prefetch", "patient", "resourceType"),
        ("fhirAuthorization", "token_type"),
        ("fhirAuthorization", "access_token"),
    ],
)
def test_agreement__awkward_strings_in_checked_fields(schemas: Schemas, path: tuple[Any, ...]) -> None:
    request = stubs.order_sign(
        [stubs.service_request("sr-1", "33952")], fhir_server="http://127.0.0.1:9/fhir", token="t"
    )
    name = HOOK_SCHEMAS["order-sign"]
    values = AWKWARD_STRINGS + [f"ab{c}cd" for c in AWKWARD_CHARS] + [f"Bearer{c}" for c in AWKWARD_CHARS]
    values += [f"http://127.0.0.1{c}/fhir" for c in AWKWARD_CHARS] + [f"Patient{c}" for c in AWKWARD_CHARS]
    for value in values:
        instance = _replace(request, path, value)
        expected = python_valid(schemas, name, instance)
        # None: the twin cannot read the value (a lone surrogate); first_error then asks Python.
        assert fast_valid(schemas, name, instance) in (expected, None), f"{path} = {value!r}: {expected}"


def test_agreement__feedback_bodies(schemas: Schemas) -> None:
    body = {
        "feedback": [
            {
                "card": "00000000-0000-4000-8000-000000000001",
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": "00000000-0000-4000-8000-000000000002"}],
                "outcomeTimestamp": "2026-11-25T10:00:00Z",
            },
            {
                "card": "00000000-0000-4000-8000-000000000003",
                "outcome": "overridden",
                "overrideReason": {
                    "reason": {"code": "patient-declined", "system": "https://example.org/reasons"},
                    "userComment": "discussed",
                },
                "outcomeTimestamp": "2026-11-25T10:00:00.123-05:00",
            },
        ]
    }
    rng = random.Random(7)
    instances = [body, *mutations(body, rng, 40)]
    instances += [_replace(body, ("feedback", 0, "outcomeTimestamp"), s) for s in AWKWARD_STRINGS]
    instances += [
        _replace(body, ("feedback", 0, "outcomeTimestamp"), f"2026-11-25T10:00:0{c}Z") for c in AWKWARD_CHARS
    ]
    for instance in instances:
        expected = python_valid(schemas, "feedback.schema.json", instance)
        assert fast_valid(schemas, "feedback.schema.json", instance) in (expected, None), repr(instance)[:300]


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _patterns(item)


def _examples(pattern: str) -> list[str]:
    """Strings near the pattern's language: each awkward char around a few matching-ish stems."""
    stems = ["", "a", "Ab", "ab-1.x", "Practitioner/x-1", "http://h/p", "Bearer", "1.2.3", "2026-11-25"]
    stems += ["2026-11-25T10:00:00Z", "a-b-c", "x_y"]
    out = [s for s in stems] + [s + "\n" for s in stems]
    for char in AWKWARD_CHARS:
        out += [char, char * 3] + [f"{s}{char}" for s in stems] + [f"{char}{s}" for s in stems]
        out += [s[: len(s) // 2] + char + s[len(s) // 2 :] for s in stems]
    return out


def test_agreement__every_pattern_character_by_character() -> None:
    documents = [json.loads(f.read_text()) for f in Path(SCHEMAS_DIR).glob("*.json")]
    patterns = sorted({p for document in documents for p in _patterns(document)})
    assert len(patterns) >= 10
    for pattern in patterns:
        twin = jsonschema_rs.validator_for({"type": "string", "pattern": portable_pattern(pattern)})
        reference = re.compile(pattern)
        for text in _examples(pattern):
            if "\ud800" in text:
                continue  # not a string JSON can carry (orjson refuses it)
            expected = reference.search(text) is not None
            assert twin.is_valid(text) == expected, f"{pattern!r} on {text!r}: Python says {expected}"


def test_first_error__twin_says_valid__python_not_asked(schemas: Schemas) -> None:
    """The point of the twin: a valid request never reaches the Python validator."""
    name = HOOK_SCHEMAS["order-sign"]

    class Refuses:
        def iter_errors(self, _instance: Any) -> Any:
            raise AssertionError("the Python validator was asked about a valid request")

    guarded = Schemas({**schemas.validators, name: Refuses()}, schemas.fast)  # type: ignore[dict-item]
    assert guarded.first_error(name, order_sign_request(1)) is None
    invalid = order_sign_request(1)
    del invalid["context"]["patientId"]
    with pytest.raises(AssertionError, match="was asked"):
        guarded.first_error(name, invalid)


def test_first_error__invalid__message_still_names_the_field(schemas: Schemas) -> None:
    request = order_sign_request(1)
    request["context"]["patientId"] = "bad id!"
    assert schemas.first_error(HOOK_SCHEMAS["order-sign"], request) == (
        "context.patientId",
        "context.patientId: 'bad id!' does not match '^[A-Za-z0-9\\\\-.]{1,64}$'",
    )


def test_load_schemas__a_document_that_is_no_json_schema_stops_loading(tmp_path: Path) -> None:
    from jsonschema.exceptions import SchemaError

    draft = "https://json-schema.org/draft/2020-12/schema"
    for name, kind in (("good", "object"), ("bad", "nope")):
        document = {"$schema": draft, "$id": f"https://x.invalid/{name}", "type": kind}
        (tmp_path / f"{name}.schema.json").write_text(json.dumps(document))
    with pytest.raises(SchemaError, match=r"bad\.schema\.json: not a valid JSON Schema"):
        load_schemas(tmp_path)


def test_rule_file_the_twin_refuses__reference_names_the_error(tmp_path: Path) -> None:
    from plugin.cds_hooks.engine.load import read_rule_files
    from plugin.cds_hooks.errors import RuleError

    schema = load_schemas(SCHEMAS_DIR)
    (tmp_path / "bad.json").write_text('{"rules": [{"id": 7}]}')
    with pytest.raises(RuleError, match=r"bad\.json: "):
        read_rule_files(
            tmp_path, schema.validator("rule.schema.json").schema, schema.fast.get("rule.schema.json")
        )
