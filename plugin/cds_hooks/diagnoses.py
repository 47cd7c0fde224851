"""ICD-10-CM as the order-diagnosis binder reads it: is a reason code billable, a header, or not a code.

Read once at load from the terminology registry (the CodeSystem `http://hl7.org/fhir/sid/icd-10-cm`
that plugin/content/icd10cm.py serves from the CDC tabular); `None` when no ICD-10-CM is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

from plugin.terminology.model.codesystem import CodeSystemView, Concept
from plugin.terminology.model.context import TxContext
from plugin.terminology.model.options import TxOptions
from plugin.terminology.model.registry import Registry

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SHOWN_BELOW = 8  # billable codes a header card lists; the rest are counted


@dataclass(frozen=True)
class Diagnosis:
    code: str
    status: str  # billable | header | unknown
    display: str | None
    billable_below: list[str]
    more_below: int


@dataclass(frozen=True)
class Diagnoses:
    view: CodeSystemView

    @property
    def version(self) -> str | None:
        return self.view.version

    def classify(self, code: str) -> Diagnosis:
        concept = self.view.locate(code)
        if concept is None:
            return Diagnosis(code, "unknown", None, [], 0)
        if not self.view.is_abstract(concept):
            return Diagnosis(concept.code, "billable", concept.display, [], 0)
        # The ICD-10-CM view counts a header's billable codes from arrays built at load; a reason
        # code of a whole chapter must not cost a walk of 40,000 codes on every call.
        fast = getattr(self.view, "selectable_below", None)
        found = fast(concept.code, SHOWN_BELOW) if fast is not None else None
        if found is not None:
            return Diagnosis(concept.code, "header", concept.display, *found)
        return self._walk(concept)

    def _walk(self, concept: Concept) -> Diagnosis:
        """A header classified by walking its subtree (any other view of ICD-10-CM)."""
        below: list[str] = []
        more = 0
        for child in self.view.descendants(concept.code):
            found = self.view.locate(child)
            if found is None or self.view.is_abstract(found):
                continue
            if len(below) < SHOWN_BELOW:
                below.append(found.code)
            else:
                more += 1
        return Diagnosis(concept.code, "header", concept.display, below, more)


def load_diagnoses(registry: Registry) -> Diagnoses | None:
    view = TxContext(registry, TxOptions(), "R4").code_system(ICD10CM)
    return Diagnoses(view) if view is not None and len(view) else None
