"""A lean index over the ICD-10-CM CodeSystem: concepts are built when first asked for.

The generic index (`CodeSystemView`) builds a `Concept` with its designation and lists for every
code up front: for ~98,000 ICD-10-CM concepts that is seconds of start-up and ~100 MB per process.
This view keeps only a code -> concept-dict map and a child -> parent map (built in one walk of the
resource), makes a `Concept` the first time a code is used, and builds the word index for
`$expand?filter=` straight from the displays. Operations see the same `CodeSystemView` interface.
It is used for the resources `plugin.content.icd10cm` loads (marked by their URL and `count`), and
only without supplements (the generic view handles those).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from typing import Any

from plugin.content.icd10cm import is_loaded, no_gc
from plugin.terminology.model.codesystem import VIEW_FACTORIES, CodeSystemView, Concept
from plugin.terminology.model.textsearch import TextIndex, words


class _LazyConcepts(Mapping[str, Concept]):
    """code -> Concept, made on first access from the resource's concept dict."""

    def __init__(self, view: CompactView, raw: dict[str, dict[str, Any]], parent: dict[str, str]) -> None:
        self._view = view
        self._raw = raw
        self._parent = parent
        self._made: dict[str, Concept] = {}

    def __getitem__(self, code: str) -> Concept:
        made = self._made.get(code)
        if made is None:
            raw = self._raw[code]  # KeyError for unknown codes, as a dict would raise
            made = Concept(raw)
            parent = self._parent.get(code)
            made.parents = [parent] if parent else []
            made.children = [child["code"] for child in raw.get("concept") or ()]
            self._view._base_designations(made)
            self._made[code] = made
        return made

    def __contains__(self, code: object) -> bool:
        return code in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


class _LazyList:
    """The concepts in code system order, by ordinal, for the word index's `matching`."""

    def __init__(self, concepts: _LazyConcepts, codes: list[str]) -> None:
        self._concepts, self._codes = concepts, codes

    def __getitem__(self, index: int) -> Concept:
        return self._concepts[self._codes[index]]

    def __len__(self) -> int:
        return len(self._codes)


class CompactView(CodeSystemView):
    def __init__(self, resource: dict[str, Any]) -> None:  # noqa: D107 - see the module docstring
        # The attributes CodeSystemView.__init__ sets, without building every concept.
        self.resource = resource
        self.url = resource.get("url") or ""
        self.version = resource.get("version")
        self.content = resource.get("content") or "complete"
        self.language = resource.get("language")
        self.case_sensitive = resource.get("caseSensitive") is True
        self.supplements = []
        self.property_defs = {p["code"]: p for p in resource.get("property") or [] if p.get("code")}
        raw: dict[str, dict[str, Any]] = {}
        parent: dict[str, str] = {}
        used: set[str] = set()
        # The loader shares one property list among all concepts of a kind: each list is read once.
        lists_seen: set[int] = set()
        stack: list[tuple[dict[str, Any], str | None]] = [(c, None) for c in reversed(resource["concept"])]
        with no_gc():
            while stack:  # depth first, in the resource's order
                item, above = stack.pop()
                code = item["code"]
                raw[code] = item
                if above is not None:
                    parent[code] = above
                props = item.get("property")
                if props and id(props) not in lists_seen:
                    lists_seen.add(id(props))
                    used.update(prop["code"] for prop in props)
                children = item.get("concept")
                if children:
                    stack.extend((child, code) for child in reversed(children))
        self.concepts = _LazyConcepts(self, raw, parent)  # type: ignore[assignment]
        self.roots = [c["code"] for c in resource["concept"]]
        self._folded = None
        self._text_index = None
        self._used_properties = used

    def locate(self, code: str | None) -> Concept | None:
        if not code:
            return None
        if code in self.concepts:
            return self.concepts[code]
        # ICD-10-CM is not case sensitive and its codes are upper case.
        upper = code.upper()
        return self.concepts[upper] if not self.case_sensitive and upper in self.concepts else None

    def text_index(self) -> Any:
        if self._text_index is None:
            codes = list(self.concepts)
            postings: dict[str, list[int]] = {}
            raw = self.concepts._raw  # type: ignore[attr-defined]
            with no_gc():
                for ordinal, code in enumerate(codes):
                    for word in set(words(raw[code].get("display") or "")):
                        postings.setdefault(word, []).append(ordinal)
            index = TextIndex.__new__(TextIndex)
            index.concepts = _LazyList(self.concepts, codes)  # type: ignore[assignment]
            index.codes = codes
            index.ordinal = {code: i for i, code in enumerate(codes)}
            index.postings = postings
            index.vocabulary = sorted(postings)
            self._text_index = index
        return self._text_index


# One view per loaded tabular: the tabular itself is read once per process (icd10cm.cached_tabular), and
# every app the process creates (tests create many) shares its view and the indexes the view builds.
_VIEWS: dict[int, CompactView] = {}


def compact_view(resource: dict[str, Any]) -> CodeSystemView | None:
    """The lean view for an ICD-10-CM CodeSystem this process loaded from a tabular; other resources
    (a request's tx-resource, a site's own ICD-10-CM JSON) get the generic view."""
    if not is_loaded(resource):
        return None
    view = _VIEWS.get(id(resource))
    if view is None:
        view = _VIEWS[id(resource)] = CompactView(resource)
        gc.freeze()  # kept for the life of the process, like the tabular (see icd10cm.cached_tabular)
    return view


def register() -> None:
    if compact_view not in VIEW_FACTORIES:
        VIEW_FACTORIES.append(compact_view)
