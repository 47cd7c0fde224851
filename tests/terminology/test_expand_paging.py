"""$expand paging, decided in one place (plugin/terminology/expand/paging.py)."""

from __future__ import annotations

import pytest

from plugin.terminology.errors import TxError
from plugin.terminology.expand.paging import DEFAULT_LIMIT, PAGED_LIMIT, resolve_paging
from plugin.terminology.model.options import TxOptions


def _options(**given: int) -> TxOptions:
    options = TxOptions()
    for name, value in given.items():
        options.see(name, {"valueInteger": value}, overwrite=True)
    return options


def test_unpaged__keeps_the_configured_limit_and_renders_everything() -> None:
    paging = resolve_paging(_options(), 50)
    assert paging.limit == 50
    assert list(paging.page([1, 2, 3])) == [1, 2, 3]
    assert paging.nests(3) and paging.keeps_hierarchy
    assert paging.echo() == []


def test_paged__lifts_the_limit_cuts_the_page_and_echoes_it() -> None:
    paging = resolve_paging(_options(offset=1, count=2), DEFAULT_LIMIT)
    assert paging.limit == PAGED_LIMIT
    assert list(paging.page([1, 2, 3, 4])) == [2, 3]
    assert not paging.keeps_hierarchy  # a page from the middle of a tree is flat
    assert paging.cuts(3) and not paging.cuts(2)
    assert not paging.nests(2) and paging.nests(1)
    assert paging.echo() == [{"name": "offset", "valueInteger": 1}, {"name": "count", "valueInteger": 2}]


@pytest.mark.parametrize("name", ["count", "offset"])
def test_negative__is_a_bad_request_of_expand_only(name: str) -> None:
    with pytest.raises(TxError) as caught:
        resolve_paging(_options(**{name: -2}))
    assert caught.value.status == 400
    assert caught.value.issues[0]["expression"] == [name]
    assert resolve_paging(_options(**{name: -2}), check=False).limit == DEFAULT_LIMIT
