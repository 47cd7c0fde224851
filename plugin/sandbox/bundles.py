"""Patient bundles as the sandbox keeps them: stable JSON, scenario metadata, and server-style views.

A bundle is a FHIR R4 `transaction` Bundle. Its scenario (name, order date, the cards it should get)
rides in `Bundle.meta.extension`, so it survives any FHIR validator and any copy of the file; the
scenario name is also a `meta.tag` for people browsing the JSON.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCENARIO_EXT = "https://fhir.cpt-plugin.org/StructureDefinition/sandbox-scenario"
SCENARIO_TAG_SYSTEM = "https://fhir.cpt-plugin.org/CodeSystem/sandbox-scenario"
TOPIC_SYSTEM = "https://fhir.cpt-plugin.org/CodeSystem/cds-card-topic"
CPT = "http://www.ama-assn.org/go/cpt"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
HOOKS = ("order-select", "order-sign")


def dumps(resource: dict[str, Any]) -> str:
    """The one serialisation of a bundle on disk: keys in the order written, 2-space indent, final newline."""
    return json.dumps(resource, indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class ExpectedCard:
    topic: str
    indicator: str
    rule: str | None = None
    hooks: tuple[str, ...] = HOOKS

    def as_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {"topic": self.topic, "indicator": self.indicator, "rule": self.rule}
        if self.hooks != HOOKS:
            item["hooks"] = list(self.hooks)
        return item


@dataclass
class Scenario:
    """What a bundle is for: who is ordered for, when, and the cards the service should return.

    match "exact": the cards must be exactly `expected` (as a multiset of topic+indicator, rule when
    known). match "includes": `expected` must be among the cards and no card may have a topic in
    `absent_topics`; other cards are allowed (used for imported patients, whose records we did not write).
    """

    name: str
    description: str
    order_date: str
    patient_id: str
    selection: str
    encounter_id: str | None = None
    user_id: str | None = None
    match: str = "exact"
    expected: list[ExpectedCard] = field(default_factory=list)
    absent_topics: list[str] = field(default_factory=list)

    def expected_for(self, hook: str) -> list[ExpectedCard]:
        return [card for card in self.expected if hook in card.hooks]

    def to_extension(self) -> dict[str, Any]:
        parts: list[dict[str, Any]] = [
            {"url": "name", "valueCode": self.name},
            {"url": "description", "valueString": self.description},
            {"url": "orderDate", "valueDate": self.order_date},
            {"url": "patient", "valueId": self.patient_id},
        ]
        if self.encounter_id:
            parts.append({"url": "encounter", "valueId": self.encounter_id})
        if self.user_id:
            parts.append({"url": "user", "valueString": self.user_id})
        parts.append({"url": "selection", "valueId": self.selection})
        parts.append({"url": "match", "valueCode": self.match})
        for card in self.expected:
            sub: list[dict[str, Any]] = [
                {"url": "topic", "valueCode": card.topic},
                {"url": "indicator", "valueCode": card.indicator},
            ]
            if card.rule:
                sub.append({"url": "rule", "valueString": card.rule})
            if card.hooks != HOOKS:
                sub.extend({"url": "hook", "valueCode": hook} for hook in card.hooks)
            parts.append({"url": "expectedCard", "extension": sub})
        parts.extend({"url": "absentTopic", "valueCode": topic} for topic in self.absent_topics)
        return {"url": SCENARIO_EXT, "extension": parts}

    @classmethod
    def from_extension(cls, ext: dict[str, Any]) -> Scenario:
        values: dict[str, Any] = {}
        expected: list[ExpectedCard] = []
        absent: list[str] = []
        for part in ext.get("extension", []):
            url = part.get("url")
            if url == "expectedCard":
                sub = {p["url"]: _value(p) for p in part.get("extension", []) if p.get("url") != "hook"}
                hooks = tuple(_value(p) for p in part.get("extension", []) if p.get("url") == "hook")
                expected.append(ExpectedCard(sub["topic"], sub["indicator"], sub.get("rule"), hooks or HOOKS))
            elif url == "absentTopic":
                absent.append(_value(part))
            else:
                values[url] = _value(part)
        return cls(
            name=values["name"],
            description=values.get("description", ""),
            order_date=values["orderDate"],
            patient_id=values["patient"],
            selection=values["selection"],
            encounter_id=values.get("encounter"),
            user_id=values.get("user"),
            match=values.get("match", "exact"),
            expected=expected,
            absent_topics=absent,
        )

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "orderDate": self.order_date,
            "match": self.match,
            "expectedCards": [card.as_dict() for card in self.expected],
            "absentTopics": list(self.absent_topics),
        }


def _value(part: dict[str, Any]) -> Any:
    for key, value in part.items():
        if key.startswith("value"):
            return value
    return None


def set_scenario(bundle: dict[str, Any], scenario: Scenario) -> None:
    meta = bundle.setdefault("meta", {})
    meta["extension"] = [e for e in meta.get("extension", []) if e.get("url") != SCENARIO_EXT]
    meta["extension"].append(scenario.to_extension())
    tags = [t for t in meta.get("tag", []) if t.get("system") != SCENARIO_TAG_SYSTEM]
    tags.append({"system": SCENARIO_TAG_SYSTEM, "code": scenario.name})
    meta["tag"] = tags


def get_scenario(bundle: dict[str, Any]) -> Scenario | None:
    for ext in bundle.get("meta", {}).get("extension", []):
        if ext.get("url") == SCENARIO_EXT:
            return Scenario.from_extension(ext)
    return None


def server_view(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The resources a FHIR server holds after processing the transaction: `urn:uuid:` references
    become `Type/id`, as a server resolves them; the bundle itself is left untouched."""
    targets: dict[str, str] = {}
    resources: list[dict[str, Any]] = []
    for entry in bundle.get("entry", []):
        resource = entry.get("resource")
        if not isinstance(resource, dict) or "resourceType" not in resource:
            continue
        if resource.get("id") and entry.get("fullUrl"):
            targets[entry["fullUrl"]] = f"{resource['resourceType']}/{resource['id']}"
        resources.append(resource)
    return [_rewrite(copy.deepcopy(r), targets) for r in resources]


def _rewrite(node: Any, targets: dict[str, str]) -> Any:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str) and value in targets:
                node[key] = targets[value]
            else:
                _rewrite(value, targets)
    elif isinstance(node, list):
        for item in node:
            _rewrite(item, targets)
    return node


def load_bundle(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise ValueError(f"{path}: not a FHIR Bundle")
    return data
