"""What the rules read from the terminology registry: age bands, documentation elements, the note form.

The age table lives once, in the terminology content: CPT concept properties `age-min` / `age-max`
(CodeSystem http://www.ama-assn.org/go/cpt) say which ages a code fits, and the ConceptMap
https://fhir.cpt-plugin.org/ConceptMap/ecmo-age-band maps each age-split code to its counterpart,
with `dependsOn` naming the age band (https://fhir.cpt-plugin.org/CodeSystem/ecmo-age-band) the
counterpart is for. Read once when the rules load.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from plugin.cds_hooks.fhir import CPT, as_dict, as_list, as_str
from plugin.terminology.model.registry import Registry

log = logging.getLogger(__name__)

AGE_BAND_SYSTEM = "https://fhir.cpt-plugin.org/CodeSystem/ecmo-age-band"


def _concepts(concepts: Any) -> Iterator[dict[str, Any]]:
    for concept in as_list(concepts):
        if isinstance(concept, dict):
            yield concept
            yield from _concepts(concept.get("concept"))


def _number(prop: dict[str, Any]) -> int | None:
    for key in ("valueInteger", "valueDecimal", "valueString"):
        value = prop.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float | Decimal):
            return int(value)
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
    return None


# What an age rule reads of a code's counterpart when none fits (shared: bindings are only read).
NO_COUNTERPART: dict[str, Any] = {"exists": False, "code": None, "display": None, "band": None}


@dataclass(frozen=True)
class AgeSplit:
    """A code with an age criterion, as age rules read it, with its counterparts (target, view)."""

    view: dict[str, Any]
    counterparts: tuple[tuple[str, dict[str, Any]], ...]


@dataclass
class AgeBands:
    limits: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    displays: dict[str, str] = field(default_factory=dict)
    counterparts: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    own_band: dict[str, str] = field(default_factory=dict)
    band_display: dict[str, str] = field(default_factory=dict)
    concept_map: str = ""
    # Every code with an age criterion, read once from the content above (index_split_codes).
    split: dict[str, AgeSplit] = field(default_factory=dict)

    def has_limit(self, code: str) -> bool:
        """Does the code have an age criterion at all (a minimum above 0, or a maximum)?"""
        age_min, age_max = self.limits.get(code, (None, None))
        return bool(age_min) or age_max is not None

    def fits(self, code: str, low: int, high: int) -> str:
        """'fits', 'outside' or 'straddles' for an age range against the code's limits ('no-limit')."""
        age_min, age_max = self.limits.get(code, (None, None))
        if age_min is None and age_max is None:
            return "no-limit"
        below = age_min is not None and high < age_min
        above = age_max is not None and low > age_max
        if below or above:
            return "outside"
        inside = (age_min is None or low >= age_min) and (age_max is None or high <= age_max)
        return "fits" if inside else "straddles"

    def band_text(self, code: str) -> str:
        band = self.own_band.get(code)
        if band and band in self.band_display:
            return self.band_display[band].lower()
        age_min, age_max = self.limits.get(code, (None, None))
        if age_min is not None and age_max is not None:
            return f"ages {age_min} to {age_max}"
        if age_min is not None:
            return f"age {age_min} and older"
        if age_max is not None:
            return f"up to age {age_max}"
        return "any age"


def load_age_bands(registry: Registry, concept_map_url: str, code_system_url: str = CPT) -> AgeBands:
    bands = AgeBands(concept_map=concept_map_url)
    for code_system in registry.versions(code_system_url):
        for concept in _concepts(code_system.get("concept")):
            code = as_str(concept.get("code"))
            if not code or code in bands.limits:
                continue
            limits: dict[str, int | None] = {"age-min": None, "age-max": None}
            for prop in as_list(concept.get("property")):
                prop = as_dict(prop)
                if prop.get("code") in limits:
                    limits[prop["code"]] = _number(prop)
            bands.limits[code] = (limits["age-min"], limits["age-max"])
            if as_str(concept.get("display")):
                bands.displays[code] = concept["display"]
    band_system = registry.get(AGE_BAND_SYSTEM)
    for concept in _concepts((band_system or {}).get("concept")):
        if as_str(concept.get("code")) and as_str(concept.get("display")):
            bands.band_display[concept["code"]] = concept["display"]
    concept_map = registry.get(concept_map_url)
    if concept_map is None:
        log.warning(
            "age-band ConceptMap %s is not loaded: age-split counterparts cannot be suggested",
            concept_map_url,
        )
    if not bands.limits:
        log.warning("CodeSystem %s has no concepts loaded: age criteria cannot be checked", code_system_url)
    for group in as_list((concept_map or {}).get("group")):
        group = as_dict(group)
        if group.get("source") not in (None, code_system_url) or group.get("target") not in (
            None,
            code_system_url,
        ):
            continue
        for element in as_list(group.get("element")):
            element = as_dict(element)
            source = as_str(element.get("code"))
            for target in as_list(element.get("target")):
                target = as_dict(target)
                code = as_str(target.get("code"))
                if not source or not code:
                    continue
                band = None
                for depends in as_list(target.get("dependsOn")):
                    depends = as_dict(depends)
                    if AGE_BAND_SYSTEM in (depends.get("property"), depends.get("system")):
                        band = as_str(depends.get("value"))
                bands.counterparts.setdefault(source, []).append((code, band))
                if band:
                    bands.own_band.setdefault(code, band)
    index_split_codes(bands)
    return bands


def index_split_codes(bands: AgeBands) -> None:
    """What the age rules read of each code with an age criterion, built once from the content."""
    bands.split = {}
    for code, (age_min, age_max) in bands.limits.items():
        if not bands.has_limit(code):
            continue
        view = {
            "age_min": age_min,
            "age_max": age_max,
            "band": bands.band_text(code),
            "display": bands.displays.get(code),
        }
        counterparts = tuple(
            (
                target,
                {
                    "exists": True,
                    "code": target,
                    "display": bands.displays.get(target),
                    "band": bands.band_text(target),
                },
            )
            for target, _band in bands.counterparts.get(code, [])
        )
        bands.split[code] = AgeSplit(view, counterparts)


@dataclass
class Documentation:
    elements: dict[str, str]  # code -> display, in CodeSystem order
    questionnaire_url: str
    questionnaire_id: str | None


def load_documentation(registry: Registry, code_system_url: str, questionnaire_url: str) -> Documentation:
    code_system = registry.get(code_system_url)
    if code_system is None:
        log.warning("documentation CodeSystem %s is not loaded", code_system_url)
    elements = {
        c["code"]: as_str(c.get("display")) or c["code"]
        for c in _concepts((code_system or {}).get("concept"))
        if as_str(c.get("code"))
    }
    questionnaire = registry.get(questionnaire_url)
    if questionnaire is None:
        log.warning("Questionnaire %s is not loaded", questionnaire_url)
    return Documentation(elements, questionnaire_url, as_str((questionnaire or {}).get("id")))
