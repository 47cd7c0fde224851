"""Word-prefix search over a code system's displays and designations, for `$expand?filter=`.

Every filter word must start some word of a concept's display or of one of its designations
(case-insensitive), or the filter must equal the code. The index maps each distinct word to the
ordinals of the concepts that use it and keeps the words sorted, so a prefix is a bisect plus a
union of small posting lists: a 100,000-concept code system answers in a few milliseconds.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Generic, Protocol, TypeVar

_WORD = re.compile(r"[0-9A-Za-z\u00C0-\uFFFF]+")


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text or "")]


class _Text(Protocol):
    @property
    def value(self) -> str: ...


class Searchable(Protocol):
    """What the index reads of a concept (codesystem.Concept is one); the index stays below the
    code system model, which builds it."""

    @property
    def code(self) -> str: ...
    @property
    def display(self) -> str | None: ...
    @property
    def designations(self) -> Sequence[_Text]: ...


C = TypeVar("C", bound=Searchable)


class TextIndex(Generic[C]):
    def __init__(self, concepts: list[C], postings: dict[str, list[int]]) -> None:
        self.concepts = concepts
        self.codes = [concept.code for concept in concepts]
        self.ordinal = {code: i for i, code in enumerate(self.codes)}
        self.postings = postings
        self.vocabulary = sorted(postings)

    @classmethod
    def build(cls, view: Iterable[C]) -> TextIndex[C]:
        concepts: list[C] = []
        postings: dict[str, list[int]] = {}
        for ordinal, concept in enumerate(view):
            concepts.append(concept)
            seen: set[str] = set()
            texts = [d.value for d in concept.designations]
            if concept.display:
                texts.append(concept.display)
            for text in texts:
                for word in words(text):
                    if word not in seen:
                        seen.add(word)
                        postings.setdefault(word, []).append(ordinal)
        return cls(concepts, postings)

    def _prefix(self, prefix: str) -> set[int]:
        out: set[int] = set()
        start = bisect_left(self.vocabulary, prefix)
        for i in range(start, len(self.vocabulary)):
            word = self.vocabulary[i]
            if not word.startswith(prefix):
                break
            out.update(self.postings[word])
        return out

    def search(self, text: str) -> set[str]:
        """Codes whose texts match every word of `text`, plus a code equal to `text`."""
        return {self.codes[i] for i in self.search_ordinals(text)}

    def matching(self, text: str) -> list[C]:
        """The concepts `search` finds, in code system order."""
        return [self.concepts[i] for i in self.search_ordinals(text)]

    def search_ordinals(self, text: str) -> list[int]:
        wanted = words(text)
        found: set[int] | None = None
        for word in sorted(set(wanted), key=len, reverse=True):
            hits = self._prefix(word)
            found = hits if found is None else found & hits
            if not found:
                break
        result = set(found or ())
        stripped = (text or "").strip()
        if stripped in self.ordinal:
            result.add(self.ordinal[stripped])
        return sorted(result)


def matches(text: str, candidates: list[str]) -> bool:
    """The same rule for a handful of strings, without an index (e.g. expansions of imports)."""
    wanted = set(words(text))
    if not wanted:
        return True
    have = [w for c in candidates for w in words(c)]
    return all(any(h.startswith(w) for h in have) for w in wanted)
