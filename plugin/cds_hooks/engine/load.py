"""Load cds_hooks/rules/*.json: validate each file against rule.schema.json, then compile every rule.

The terminology content the binders read (the age-band ConceptMap, the documentation CodeSystem and
note Questionnaire) is read once into the binders' Context; a rule may name other canonicals for them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from plugin.cds_hooks.content import load_age_bands, load_documentation
from plugin.cds_hooks.contract import Binder, Context
from plugin.cds_hooks.diagnoses import load_diagnoses
from plugin.cds_hooks.engine.compile import compile_rule, valueset_codes
from plugin.cds_hooks.engine.evaluate import RuleSet
from plugin.cds_hooks.errors import RuleError
from plugin.cds_hooks.fast_schema import IsValid
from plugin.cds_hooks.tables import Tables
from plugin.terminology.model.registry import Registry

__all__ = ["load_rules", "read_rule_files", "resolve_family"]

AGE_BAND_MAP = "https://fhir.cpt-plugin.org/ConceptMap/ecmo-age-band"
DOCUMENTATION_SYSTEM = "https://fhir.cpt-plugin.org/CodeSystem/ecmo-documentation-element"
NOTE_QUESTIONNAIRE = "https://fhir.cpt-plugin.org/Questionnaire/ecmo-cannulation-note"


def read_rule_files(
    folder: Path, schema: dict[str, Any], is_valid: IsValid | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """(file name, rule JSON) in file-name order, each file valid against the schema, ids unique.

    `is_valid` is the schema's compiled twin (plugin/cds_hooks/fast_schema.py): it answers "valid"
    for the usual file at a fraction of the cost; the reference validator decides, and names the
    error, for any file the twin does not accept."""
    validator = Draft202012Validator(schema)
    found: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise RuleError(f"{path}: cannot read JSON: {exc}") from exc
        error = (
            None
            if is_valid is not None and is_valid(data)
            else next(iter(sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))), None)
        )
        if error is not None:
            location = "/".join(str(p) for p in error.absolute_path) or "(top level)"
            raise RuleError(f"{path}: {location}: {error.message}")
        for raw in data["rules"]:
            if raw["id"] in seen:
                raise RuleError(f"{path}: duplicate rule id {raw['id']!r}")
            seen.add(raw["id"])
            found.append((path.name, raw))
    return found


def _content_context(
    raw_rules: list[tuple[str, dict[str, Any]]], tables: Tables, registry: Registry
) -> Context:
    """Read the terminology content the rules name (age-band ConceptMap, documentation CodeSystem, form)."""
    concept_map, doc_system, questionnaire = AGE_BAND_MAP, DOCUMENTATION_SYSTEM, NOTE_QUESTIONNAIRE
    for _file, raw in raw_rules:
        match = raw["match"]
        if match["kind"] == "order-age" and "conceptMap" in match:
            concept_map = match["conceptMap"]
        if match["kind"] == "order-documentation":
            doc_system = match.get("codeSystem", doc_system)
            questionnaire = match.get("questionnaire", questionnaire)
    return Context(
        tables=tables,
        bands=load_age_bands(registry, concept_map),
        documentation=load_documentation(registry, doc_system, questionnaire),
        diagnoses=load_diagnoses(registry),
    )


def resolve_family(tables: Tables, registry: Registry) -> None:
    """The ECMO/ECLS family (what makes a request relevant at all) is the ValueSet its facts file names."""
    family = tables.files.get("ecmo-cannulation-family")
    if family is None or "valueSet" not in family:
        raise RuleError("cds_hooks/facts: ecmo-cannulation-family must name the family ValueSet")
    tables.family = valueset_codes(registry, family["valueSet"], "facts ecmo-cannulation-family")


def load_rules(
    folder: Path,
    schema: dict[str, Any],
    tables: Tables,
    registry: Registry,
    binders: Mapping[str, Binder],
    is_valid: IsValid | None = None,
) -> RuleSet:
    """Every rule of the folder compiled against the binder registry it is given."""
    resolve_family(tables, registry)
    raw_rules = read_rule_files(folder, schema, is_valid)
    ctx = _content_context(raw_rules, tables, registry)
    return RuleSet([compile_rule(raw, file, ctx, registry, binders) for file, raw in raw_rules], ctx)
