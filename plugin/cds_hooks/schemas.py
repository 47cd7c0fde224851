"""The JSON Schemas in cds_hooks/schemas/, built into validators once, and the response invariants
that JSON Schema cannot express (uuid uniqueness, nothing null or empty anywhere, the rule line)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError, best_match
from referencing import Registry, Resource

from plugin.cds_hooks.fast_schema import IsValid, build_fast_validators

HOOK_SCHEMAS = {
    "order-select": "request-order-select.schema.json",
    "order-sign": "request-order-sign.schema.json",
    "appointment-book": "request-appointment-book.schema.json",
}


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def describe(error: ValidationError) -> tuple[str, str]:
    """(field, message) for a validation error, with the field as a JSON path like context.selections[0]."""
    field = _path(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [p for p in error.validator_value if p not in error.instance]
        if missing:
            field = f"{field}.{missing[0]}" if field else missing[0]
            return field, f"{field} is required"
    if error.validator == "dependentRequired" and isinstance(error.instance, dict):
        for name, needs in error.validator_value.items():
            absent = [n for n in needs if name in error.instance and n not in error.instance]
            if absent:
                return absent[0], f"{absent[0]} is required when {name} is present"
    return field or "(body)", f"{field or 'body'}: {error.message}"


@dataclass
class Schemas:
    validators: dict[str, Draft202012Validator]
    # Compiled twins (fast_schema.py): they may only say "valid"; a "no" is decided, and explained,
    # by the Python validator above, so what is accepted and every message stay the reference's.
    fast: dict[str, IsValid] = field(default_factory=dict)

    def validator(self, name: str) -> Draft202012Validator:
        return self.validators[name]

    def is_valid(self, name: str, instance: Any) -> bool:
        return self.first_error(name, instance) is None

    def first_error(self, name: str, instance: Any) -> tuple[str, str] | None:
        fast = self.fast.get(name)
        if fast is not None:
            try:
                if fast(instance):
                    return None
            except (ValueError, TypeError, OverflowError, RecursionError):
                pass  # a value the twin cannot read: the reference decides
        error = best_match(self.validators[name].iter_errors(instance))
        return describe(error) if error is not None else None

    def errors(self, name: str, instance: Any) -> list[str]:
        return [describe(e)[1] for e in self.validators[name].iter_errors(instance)]


def load_schemas(folder: Path) -> Schemas:
    documents = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))}
    registry: Registry = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in documents.values()
    )
    validators = {}
    for name, doc in documents.items():
        # Each document against the Draft 2020-12 meta-schema: jsonschema_rs does it in a millisecond
        # (jsonschema's check_schema took a tenth of start-up); a bad schema still stops start-up.
        try:
            jsonschema_rs.meta.validate(doc)
        except jsonschema_rs.ValidationError as exc:
            raise SchemaError(f"{folder / name}: not a valid JSON Schema: {exc.message}") from exc
        validators[name] = Draft202012Validator(doc, registry=registry)
    return Schemas(validators, build_fast_validators(documents))


def _empties(value: Any, path: str) -> Iterator[str]:
    if value is None or value == "" or value == [] or value == {}:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _empties(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _empties(item, f"{path}[{index}]")


def response_problems(schemas: Schemas, response: dict[str, Any]) -> list[str]:
    """Everything wrong with a response: schema errors plus the invariants checked in code."""
    problems = schemas.errors("response.schema.json", response)
    cards = response.get("cards", []) if isinstance(response, dict) else []
    for key, value in response.items() if isinstance(response, dict) else []:
        if key != "cards":
            problems += [f"{p} is null or empty" for p in _empties(value, key)]
    ids: list[str] = []
    for index, card in enumerate(cards if isinstance(cards, list) else []):
        problems += [f"{p} is null or empty" for p in _empties(card, f"cards[{index}]")]
        if not isinstance(card, dict):
            continue
        ids.append(card.get("uuid"))
        ids += [s.get("uuid") for s in card.get("suggestions", []) if isinstance(s, dict)]
        if card.get("indicator") == "critical":
            problems.append(f"cards[{index}]: critical is reserved for patient safety, not coding advice")
        rule = card.get("extension", {}).get("org.cpt-plugin.rule", {})
        for named in [rule, *card.get("extension", {}).get("org.cpt-plugin.merged-rules", [])]:
            if named and f"Rule `{named.get('id')}` v{named.get('version')}" not in str(
                card.get("detail", "")
            ):
                problems.append(f"cards[{index}].detail does not name its rule {named.get('id')}")
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        problems.append(f"uuids used more than once: {sorted(map(str, duplicates))}")
    return problems
