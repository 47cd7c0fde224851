"""GET /metadata (CapabilityStatement) and GET /metadata?mode=terminology (TerminologyCapabilities).

Spec: http://hl7.org/fhir/R5/capabilitystatement.html, http://hl7.org/fhir/R5/terminologycapabilities.html,
and the terminology-server statement http://hl7.org/fhir/CapabilityStatement/terminology-server that
this server instantiates. The feature extensions are those of the HL7 terminology ecosystem IG.
"""

from __future__ import annotations

from typing import Any

from plugin.terminology.model.registry import Registry
from plugin.version import __version__

TEST_VERSION = "1.9.3"
RELEASE_DATE = "2026-11-25"
FEATURE = "http://hl7.org/fhir/uv/application-feature/StructureDefinition/feature"
OPERATIONS = {
    "CodeSystem": ["lookup", "validate-code", "subsumes"],
    "ValueSet": ["expand", "validate-code", "batch-validate-code"],
    "ConceptMap": ["translate"],
}
SEARCH_PARAMS = [
    ("url", "uri"),
    ("version", "token"),
    ("name", "string"),
    ("title", "string"),
    ("status", "token"),
    ("_id", "token"),
]
EXPANSION_PARAMETERS = [
    "activeOnly",
    "check-system-version",
    "count",
    "default-valueset-version",
    "designation",
    "displayLanguage",
    "excludeNested",
    "excludeNotForUI",
    "excludePostCoordinated",
    "filter",
    "force-system-version",
    "includeDefinition",
    "includeDesignations",
    "offset",
    "property",
    "system-version",
    "tx-resource",
    "useSupplement",
]


def _definition(resource: str, op: str) -> str:
    name = {"batch-validate-code": "ValueSet-batch-validate-code"}.get(op, f"{resource}-{op}")
    return f"http://hl7.org/fhir/OperationDefinition/{name}"


def capability_statement(base_url: str, fhir_version: str) -> dict[str, Any]:
    """The CapabilityStatement of the endpoint at `base_url` speaking FHIR `fhir_version` (4.0.1, 5.0.0)."""
    resources = []
    for rtype in ("CodeSystem", "ValueSet", "ConceptMap", "Questionnaire"):
        entry: dict[str, Any] = {
            "type": rtype,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [{"name": n, "type": t} for n, t in SEARCH_PARAMS],
        }
        ops = OPERATIONS.get(rtype, [])
        if ops:
            entry["operation"] = [{"name": op, "definition": _definition(rtype, op)} for op in ops]
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "id": "cpt-plugin-terminology",
        "extension": [
            {
                "url": FEATURE,
                "extension": [
                    {
                        "url": "definition",
                        "valueCanonical": "http://hl7.org/fhir/uv/tx-tests/FeatureDefinition/test-version",
                    },
                    {"url": "value", "valueCode": TEST_VERSION},
                ],
            },
            {
                "url": FEATURE,
                "extension": [
                    {
                        "url": "definition",
                        "valueCanonical": "http://hl7.org/fhir/uv/tx-ecosystem/FeatureDefinition/CodeSystemAsParameter",
                    },
                    {"url": "value", "valueBoolean": True},
                ],
            },
        ],
        "url": f"{base_url}/metadata",
        "version": __version__,
        "name": "CptPluginTerminologyServer",
        "title": "cpt-plugin FHIR terminology server",
        "status": "active",
        "date": RELEASE_DATE,
        "publisher": "cpt-plugin",
        "kind": "instance",
        "instantiates": ["http://hl7.org/fhir/CapabilityStatement/terminology-server"],
        "software": {"name": "cpt-plugin", "version": __version__, "releaseDate": RELEASE_DATE},
        "implementation": {"description": "cpt-plugin terminology API", "url": base_url},
        "fhirVersion": fhir_version,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "resource": resources,
                "operation": [
                    {
                        "name": "versions",
                        "definition": "http://hl7.org/fhir/OperationDefinition/Resource-versions",
                    },
                    {"name": "expand", "definition": _definition("ValueSet", "expand")},
                    {"name": "lookup", "definition": _definition("CodeSystem", "lookup")},
                    {"name": "validate-code", "definition": _definition("ValueSet", "validate-code")},
                    {"name": "translate", "definition": _definition("ConceptMap", "translate")},
                    {"name": "subsumes", "definition": _definition("CodeSystem", "subsumes")},
                ],
            }
        ],
    }


def metadata(registry: Registry, base_url: str, fhir_version: str, mode: str | None = None) -> dict[str, Any]:
    """GET /metadata: the TerminologyCapabilities when `mode` is `terminology`, else the
    CapabilityStatement (`full` and `normative` describe the same single server)."""
    if mode == "terminology":
        return terminology_capabilities(registry, base_url)
    return capability_statement(base_url, fhir_version)


def terminology_capabilities(registry: Registry, base_url: str) -> dict[str, Any]:
    """The code systems (and their versions) `registry` holds, and what $expand and the others support."""
    systems: dict[str, set[str]] = {}
    for resource in registry.resources("CodeSystem"):
        if resource.get("content") == "supplement" or not resource.get("url"):
            continue
        versions = systems.setdefault(resource["url"], set())
        if resource.get("version"):
            versions.add(resource["version"])
    code_systems = []
    for url in sorted(systems):
        entry: dict[str, Any] = {"uri": url}
        if systems[url]:
            entry["version"] = [{"code": v} for v in sorted(systems[url])]
        code_systems.append(entry)
    return {
        "resourceType": "TerminologyCapabilities",
        "id": "cpt-plugin-terminology",
        "url": f"{base_url}/metadata?mode=terminology",
        "version": __version__,
        "name": "CptPluginTerminologyCapabilities",
        "title": "cpt-plugin terminology capabilities",
        "status": "active",
        "date": RELEASE_DATE,
        "publisher": "cpt-plugin",
        "kind": "instance",
        "software": {"name": "cpt-plugin", "version": __version__},
        "codeSystem": code_systems,
        "expansion": {
            "hierarchical": True,
            "paging": True,
            "incomplete": False,
            "parameter": [{"name": n} for n in sorted(EXPANSION_PARAMETERS)],
            "textFilter": "Every word of the filter must start a word of the concept's display or "
            "designations (case-insensitive), or the filter equals the code.",
        },
        "validateCode": {"translations": False},
        "translation": {"needsMap": False},
        "closure": {"translation": False},
    }
