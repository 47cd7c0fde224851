"""Scrub the actual response before comparison, as TxTesterScrubbers does (not in `tight` mode).

Every resource loses `text` and `meta`; extensions are removed everywhere except relative ones and
the allow-list below (the walk does not enter the children of ValueSet.compose, which keep theirs);
Parameters lose `diagnostics` parameters; OperationOutcome issues that only carry diagnostics are
dropped and diagnostics are blanked unless they echo the request id. CapabilityStatement and
TerminologyCapabilities are left alone.
"""

from __future__ import annotations

import re
from typing import Any

Json = Any

_SD = "http://hl7.org/fhir/StructureDefinition/"
_TEST = "http://hl7.org/fhir/test/"
MANAGED_EXTENSIONS = frozenset(
    [
        _SD + name
        for name in (
            "codesystem-alternate",
            "codesystem-conceptOrder",
            "codesystem-label",
            "coding-sctdescid",
            "structuredefinition-standards-status",
            "itemWeight",
            "rendering-style",
            "rendering-xhtml",
            "translation",
            "valueset-concept-definition",
            "valueset-conceptOrder",
            "valueset-deprecated",
            "valueset-label",
            "valueset-supplement",
            "alternate-code-use",
            "alternate-code-status",
            "operationoutcome-message-id",
            "valueset-unclosed",
            "valueset-unclosed-reason",
        )
    ]
    + [
        _TEST + name
        for name in (
            "CodeSystem/de-multi",
            "CodeSystem/en-multi",
            "StructureDefinition/unknown-extension-1",
            "StructureDefinition/unknown-extension-3",
            "StructureDefinition/unknown-extension-4",
            "StructureDefinition/unknown-extension-5",
            "ValueSet/extensions-bad-supplement",
            "ValueSet/simple-all",
            "ValueSet/simple-enumerated",
            "ValueSet/simple-filter-isa",
        )
    ]
)

_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def is_managed_extension(url: Json) -> bool:
    if not isinstance(url, str):
        return False
    return not _ABSOLUTE.match(url) or url in MANAGED_EXTENSIONS


def _filter_extensions(node: dict) -> None:
    extensions = node.get("extension")
    if not isinstance(extensions, list):
        return
    kept = [e for e in extensions if not isinstance(e, dict) or is_managed_extension(e.get("url"))]
    if kept:
        node["extension"] = kept
    else:
        del node["extension"]


def scrub_extensions(node: Json, parent_type: str | None = None) -> None:
    """Remove unmanaged extensions from a node and everything below it."""
    if isinstance(node, list):
        for item in node:
            scrub_extensions(item, parent_type)
        return
    if not isinstance(node, dict):
        return
    _filter_extensions(node)
    kind = node.get("resourceType") if isinstance(node.get("resourceType"), str) else parent_type
    for key, value in node.items():
        if key == "compose" and kind == "ValueSet" and "resourceType" in node:
            if isinstance(value, dict):
                _filter_extensions(value)  # compose itself is visited, its children are not
            continue
        scrub_extensions(value, kind)


def _scrub_domain_resource(resource: dict) -> None:
    resource.pop("text", None)
    resource.pop("meta", None)
    scrub_extensions(resource)


def _mentions_request_id(text: Json) -> bool:
    return isinstance(text, str) and "x-request-id" in text.lower()


def scrub_operation_outcome(resource: dict) -> None:
    _scrub_domain_resource(resource)
    issues = resource.get("issue")
    if not isinstance(issues, list):
        return
    kept = []
    for issue in issues:
        if isinstance(issue, dict):
            if (
                "diagnostics" in issue
                and "details" not in issue
                and not _mentions_request_id(issue["diagnostics"])
            ):
                continue
            if "diagnostics" in issue and not _mentions_request_id(issue["diagnostics"]):
                del issue["diagnostics"]
        kept.append(issue)
    resource["issue"] = kept


def scrub_parameters(resource: dict) -> None:
    resource.pop("meta", None)
    resource.pop("text", None)
    params = resource.get("parameter")
    if isinstance(params, list):
        params[:] = [p for p in params if not (isinstance(p, dict) and p.get("name") == "diagnostics")]
        if not params:
            del resource["parameter"]
    scrub_extensions(resource)
    for param in resource.get("parameter", []):
        nested = param.get("resource") if isinstance(param, dict) else None
        if isinstance(nested, dict):
            scrub_resource(nested)


def scrub_resource(resource: Json) -> None:
    """Scrub a response in place, by its resource type."""
    if not isinstance(resource, dict):
        return
    kind = resource.get("resourceType")
    if kind in ("CapabilityStatement", "TerminologyCapabilities"):
        return
    if kind == "Parameters":
        scrub_parameters(resource)
    elif kind == "OperationOutcome":
        scrub_operation_outcome(resource)
    elif kind == "Bundle":
        resource.pop("meta", None)
        for entry in resource.get("entry", []) if isinstance(resource.get("entry"), list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                scrub_resource(entry["resource"])
    else:
        _scrub_domain_resource(resource)


def without_issue_locations(node: Json) -> Json:
    """A copy without OperationOutcome.issue.location (an issue is an object with a `severity`).

    FHIR deprecates `location` in favour of `expression`, and the tx-ecosystem expected files
    disagree about it (most pinned files require it, later upstream files leave it out), so a run
    may leave it out of the comparison on both sides."""
    if isinstance(node, dict):
        return {
            key: without_issue_locations(value)
            for key, value in node.items()
            if not (key == "location" and "severity" in node)
        }
    if isinstance(node, list):
        return [without_issue_locations(item) for item in node]
    return node
