"""`$expand` paging, resolved once per expansion: `offset` and `count` as the request (or the value
set's own expansion parameters) gave them, the size limit they imply, and every decision that
depends on them (which page of codes is rendered, whether the hierarchy survives, what the
expansion echoes). Spec: http://hl7.org/fhir/R5/valueset-operation-expand.html (offset, count).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from plugin.terminology.errors import bad_request
from plugin.terminology.model.options import TxOptions

# Without `count`, an expansion larger than this is refused as too costly (HAPI's expander uses the
# same default); `[terminology] expansion_limit` changes it. A paged request may go up to PAGED_LIMIT.
DEFAULT_LIMIT = 1_000
PAGED_LIMIT = 1_000_000

T = TypeVar("T")


@dataclass(frozen=True)
class Paging:
    offset: int = -1  # -1: not asked
    count: int = -1  # -1: not asked
    limit: int = DEFAULT_LIMIT  # how many codes the expansion may collect before it is too costly

    @property
    def keeps_hierarchy(self) -> bool:
        """A page that starts past the first code cannot keep the tree: it is listed flat."""
        return self.offset <= 0

    def cuts(self, size: int) -> bool:
        """Does the requested page cut a list of `size` codes short? (Then it is listed flat.)"""
        return 0 <= self.count < size

    def nests(self, total: int) -> bool:
        """May a hierarchical listing of `total` codes be rendered as a tree? Only unpaged, or with a
        count beyond every code."""
        return self.count < 0 or self.count > total

    def page(self, items: Sequence[T]) -> Sequence[T]:
        start = max(self.offset, 0)
        return items[start:] if self.count < 0 else items[start : start + self.count]

    def skip(self, items: list[T]) -> list[T]:
        """The items of a nested listing from the offset on (a tree is never cut by count)."""
        return items[max(self.offset, 0) :]

    def echo(self) -> list[dict[str, Any]]:
        """The expansion parameters that say how it was paged."""
        out: list[dict[str, Any]] = []
        if self.offset > -1:
            out.append({"name": "offset", "valueInteger": self.offset})
        if self.count > -1:
            out.append({"name": "count", "valueInteger": self.count})
        return out


def resolve_paging(options: TxOptions, limit: int = DEFAULT_LIMIT, *, check: bool = True) -> Paging:
    """The paging of an expansion from its options (after the value set's own parameters apply) and
    the configured limit for an unpaged expansion. A negative offset or count is a bad request of
    $expand (`check`); collecting a value set's codes for another operation ignores them."""
    for name in ("count", "offset"):
        if check and options.has(name) and getattr(options, name) < 0:
            raise bad_request(f"Parameter '{name}' must not be negative", expression=[name])
    paged_limit = limit if options.count < 0 else max(limit, PAGED_LIMIT)
    return Paging(offset=options.offset, count=options.count, limit=paged_limit)
