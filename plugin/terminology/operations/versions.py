"""GET [base]/$versions - the FHIR versions this endpoint serves (http://hl7.org/fhir/R5/capabilitystatement-operation-versions.html).

Output: Parameters with `version` (repeating) and `default`.
"""

from __future__ import annotations

from typing import Any


def versions(fhir_version: str) -> dict[str, Any]:
    major_minor = ".".join(fhir_version.split(".")[:2])
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "version", "valueCode": major_minor},
            {"name": "default", "valueCode": major_minor},
        ],
    }
