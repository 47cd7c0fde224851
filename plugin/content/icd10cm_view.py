"""A lean index over the ICD-10-CM CodeSystem: concepts are built when first asked for.

The generic index (`CodeSystemView`) builds a `Concept` with its designation and lists for every
code up front: for ~98,000 ICD-10-CM concepts that is seconds of start-up and ~100 MB per process.
This view keeps only a code -> concept-dict map and a child -> parent map (built in one walk of the
resource), makes a `Concept` the first time a code is used, and builds the word index for
`$expand?filter=` straight from the displays. Operations see the same `CodeSystemView` interface.

The concepts are numbered in tree order (depth first, as the tabular lists them), so a code's
descendants are the numbers from its own up to the end of its subtree: `descendants` is a slice,
and an is-a filter with a text filter (`text_in_subtree`) is a bisect of the word matches, without
a walk of the subtree. Matches come back as a lazy sequence, so an expansion with `count` makes a
`Concept` only for the codes of its page.
It is used for the resources `plugin.content.icd10cm` loads (marked by their URL and `count`), and
only without supplements (the generic view handles those).
"""

from __future__ import annotations

import gc
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

from plugin.content.icd10cm import is_loaded, no_gc
from plugin.terminology.model.codesystem import CP, VIEW_FACTORIES, CodeSystemView, Concept
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


class _Selection(Sequence[Concept]):
    """Some concepts of a `_LazyList`, by ordinal: a `Concept` is made only when read."""

    def __init__(self, concepts: _LazyList, ordinals: Sequence[int]) -> None:
        self._concepts, self._ordinals = concepts, ordinals

    def __len__(self) -> int:
        return len(self._ordinals)

    @overload
    def __getitem__(self, index: int) -> Concept: ...
    @overload
    def __getitem__(self, index: slice) -> list[Concept]: ...
    def __getitem__(self, index: int | slice) -> Concept | list[Concept]:
        if isinstance(index, slice):
            return [self._concepts[i] for i in self._ordinals[index]]
        return self._concepts[self._ordinals[index]]


class _CompactIndex(TextIndex[Concept]):
    """The word index over the tabular's displays; `matching` is lazy (see `_Selection`)."""

    concepts: _LazyList  # type: ignore[assignment]

    def matching(self, text: str) -> Sequence[Concept]:  # type: ignore[override]
        return _Selection(self.concepts, self.search_ordinals(text))

    def search_ordinals(self, text: str) -> list[int]:
        # One filter word that is one whole word of the vocabulary and no code: its posting list,
        # already in order (the common case, e.g. "fracture"), without a set of every match.
        wanted = words(text)
        if len(wanted) == 1 and (text or "").strip() not in self.ordinal:
            start = bisect_left(self.vocabulary, wanted[0])
            after = self.vocabulary[start + 1] if start + 1 < len(self.vocabulary) else ""
            if self.vocabulary[start : start + 1] == wanted and not after.startswith(wanted[0]):
                return self.postings[wanted[0]]
        return super().search_ordinals(text)


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
        # True while every code is listed once, or right inside a block of its own name (the tabular's
        # section "B10" holding only category B10): then the codes in order number the tree, each
        # subtree one run of ordinals (see `_subtree`).
        self._tree_order = True
        stack: list[tuple[dict[str, Any], str | None]] = [(c, None) for c in reversed(resource["concept"])]
        with no_gc():
            while stack:  # depth first, in the resource's order
                item, above = stack.pop()
                code = item["code"]
                if code in raw and above == code:
                    # The category inside its namesake block: one concept (the category's, as the
                    # last listed wins), in the block's place under the block's parent.
                    raw[code] = item
                else:
                    if code in raw:
                        self._tree_order = False  # one code in two places: no numbered tree
                    raw[code] = item
                    if above is not None:
                        parent[code] = above
                for prop in item.get("property") or ():
                    used.add(prop["code"])
                stack.extend((child, code) for child in reversed(item.get("concept") or ()))
        self.concepts = _LazyConcepts(self, raw, parent)  # type: ignore[assignment]
        self.roots = [c["code"] for c in resource["concept"]]
        self._folded = None
        self._text_index = None
        self._used_properties = used
        self._parent = parent
        self._ends: array[int] | None = None  # per ordinal: the ordinal after its subtree
        self._selectable: array[int] | None = None  # the ordinals of the codes that are not abstract

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
            index = _CompactIndex.__new__(_CompactIndex)
            index.concepts = _LazyList(self.concepts, codes)
            index.codes = codes
            index.ordinal = {code: i for i, code in enumerate(codes)}
            index.postings = postings
            index.vocabulary = sorted(postings)
            self._text_index = index
        return self._text_index

    def warm(self) -> None:
        """Build before gunicorn forks what is otherwise built on first use in every worker: the word
        index, the subtree spans and the selectable codes (about 100 ms and 1.5 MB), so the workers
        share them."""
        self.text_index()
        if self.roots and self.roots[0] in self.concepts:
            self._subtree(self.roots[0])
            self._selectable_ordinals()

    # -- the tree by ordinal -----------------------------------------------------------------------
    def _subtree(self, code: str) -> tuple[int, int] | None:
        """The ordinals of `code` and its descendants, [own, end); None when the codes do not number
        the tree."""
        if not self._tree_order:
            return None
        index = self.text_index()
        if self._ends is None:
            ordinal, parent = index.ordinal, self._parent
            sizes = array("l", [1]) * len(index.codes)
            for i in range(len(index.codes) - 1, -1, -1):  # children come after their parent
                above = parent.get(index.codes[i])
                if above is not None:
                    sizes[ordinal[above]] += sizes[i]
            self._ends = array("l", (i + size for i, size in enumerate(sizes)))
        own = index.ordinal[code]
        return own, self._ends[own]

    def _selectable_ordinals(self) -> array[int]:
        if self._selectable is None:
            abstract = self.property_codes_for(
                CP + "notSelectable", "notSelectable", "not-selectable", "abstract"
            )
            raw = self.concepts._raw  # type: ignore[attr-defined]
            self._selectable = array(
                "i",
                (
                    i
                    for i, code in enumerate(self.text_index().codes)
                    # CodeSystemView.is_abstract, read from the concept's dict without making a Concept.
                    if not any(
                        p.get("code") in abstract and p.get("valueBoolean") is True
                        for p in raw[code].get("property") or ()
                    )
                ),
            )
        return self._selectable

    def selectable_below(self, code: str, first: int) -> tuple[list[str], int] | None:
        """The first `first` selectable (not abstract) codes below `code` in tree order, and how many
        more there are; None when the codes do not number the tree. Two bisects of the selectable
        ordinals: a chapter's 40,000 codes are counted, never made into concepts."""
        span = self._subtree(code) if code in self.concepts else None
        if span is None:
            return None
        own, end = span
        selectable = self._selectable_ordinals()
        start, stop = bisect_left(selectable, own + 1), bisect_left(selectable, end)
        codes = self.text_index().codes
        shown = [codes[i] for i in selectable[start : min(stop, start + first)]]
        return shown, stop - start - len(shown)

    def descendants(self, code: str) -> list[str]:
        span = self._subtree(code) if code in self.concepts else None
        if span is None:
            return super().descendants(code)
        return self.text_index().codes[span[0] + 1 : span[1]]

    def ancestors(self, code: str) -> set[str]:
        out: set[str] = set()
        above = self._parent.get(code)
        while above is not None and above not in out:
            out.add(above)
            above = self._parent.get(above)
        return out

    def text_in_subtree(self, code: str, include_self: bool, text: str) -> Sequence[Concept] | None:
        """The concepts of `code`'s subtree (with `code` itself when `include_self`) that the text
        filter finds, in code system order: the word matches between the subtree's first and last
        ordinal. None when the codes do not number the tree (the caller walks the subtree)."""
        span = self._subtree(code)
        if span is None:
            return None
        own, end = span
        index = self.text_index()
        found = index.search_ordinals(text)
        first = bisect_left(found, own if include_self else own + 1)
        return _Selection(index.concepts, found[first : bisect_left(found, end, first)])


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
