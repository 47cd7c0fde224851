"""The "add a terminology operation" recipe of docs/recipes.md runs as written: its handler and pure
function, given the imports the recipe names, answer at type and instance level and raise the one error
family; its parameter declaration is a valid entry of the parameter tables."""

from __future__ import annotations

import re
import textwrap
from typing import Any

import pytest

from plugin.config import PROJECT_ROOT
from plugin.terminology.errors import TxError, bad_request, not_found
from plugin.terminology.model import parameters
from plugin.terminology.model.codesystem import CodeSystemView
from plugin.terminology.model.context import TxContext, TxOptions
from plugin.terminology.model.parameters import ParametersBuilder, ParsedParameters, _table
from plugin.terminology.model.registry import Registry
from plugin.terminology.operations.codesystem_lookup import unknown_system
from plugin.terminology.validate.findings import unknown_code_error
from tests.terminology.conftest import SHAPES, shapes

HEADING = "## Add a terminology operation"


def _recipe() -> str:
    text = (PROJECT_ROOT / "docs" / "recipes.md").read_text(encoding="utf-8")
    after = text[text.index(HEADING) :]
    found = re.search(r"```python\n(.*?)```", after, re.DOTALL)
    assert found, "no python block in the operation recipe"
    return textwrap.dedent(found.group(1))


@pytest.fixture(scope="module")
def recipe() -> dict[str, Any]:
    namespace: dict[str, Any] = {
        "Any": Any,
        "TxContext": TxContext,
        "ParsedParameters": ParsedParameters,
        "CodeSystemView": CodeSystemView,
        "ParametersBuilder": ParametersBuilder,
        "bad_request": bad_request,
        "not_found": not_found,
        "unknown_system": unknown_system,
        "unknown_code_error": unknown_code_error,
    }
    exec(compile(_recipe(), "recipes.md", "exec"), namespace)  # noqa: S102 - our own doc
    return namespace


def _context() -> TxContext:
    registry = Registry()
    registry.add(shapes(), "test")
    return TxContext(registry.overlay(), TxOptions())


def _codes(answer: dict[str, Any]) -> list[str]:
    return [p["valueCode"] for p in answer["parameter"]]


def test_recipe_operation__pure_function_answers_the_ancestors(recipe: dict[str, Any]) -> None:
    assert _codes(recipe["ancestors_of"](CodeSystemView(shapes()), "square")) == ["polygon", "quadrilateral"]
    with pytest.raises(TxError):
        recipe["ancestors_of"](CodeSystemView(shapes()), "hexagon")


def test_recipe_operation__handler_at_type_and_instance_level(recipe: dict[str, Any]) -> None:
    handler = recipe["ancestors"]
    by_system = ParsedParameters(
        [{"name": "system", "valueUri": SHAPES}, {"name": "code", "valueCode": "square"}]
    )
    assert _codes(handler(_context(), by_system)) == ["polygon", "quadrilateral"]
    by_instance = ParsedParameters([{"name": "code", "valueCode": "square"}])
    assert _codes(handler(_context(), by_instance, "shapes-2.0.0")) == ["polygon", "quadrilateral"]
    for params, instance, status in ((by_instance, None, 400), (by_instance, "no-such-id", 404)):
        with pytest.raises(TxError) as raised:
            handler(_context(), params, instance)
        assert raised.value.status == status


def test_recipe_operation__parameter_declaration_is_a_table_entry() -> None:
    text = (PROJECT_ROOT / "docs" / "recipes.md").read_text(encoding="utf-8")
    declared = re.search(r'`"ancestors": (_table\(.*?\))`', text[text.index(HEADING) :], re.DOTALL)
    assert declared, "the recipe declares no parameter table"
    namespace = {"_table": _table, "_COMMON": parameters._COMMON, "Param": parameters.Param}
    table = eval(declared.group(1), namespace)  # noqa: S307 - our own doc
    assert {"system", "code", "version", "tx-resource"} <= set(table)
