"""House rules a reader of the code relies on: plugin/ has no import cycles, and modules stay short.

The import graph is read from the source (ast), not by importing it: every `import` and `from ... import`
anywhere in a module counts, also those inside functions and `if TYPE_CHECKING:`, because a cycle
dodged by a late import is still a cycle to read. An edge goes to the most specific module named
(`from plugin.cds_hooks import binders` is an edge to plugin.cds_hooks.binders); importing a module
of a package is not counted as importing the package's __init__.
"""

from __future__ import annotations

import ast
from pathlib import Path

from plugin.config import PROJECT_ROOT

PLUGIN = PROJECT_ROOT / "plugin"
MAX_LINES = 400
# Modules over MAX_LINES today, each to be split: the list may only shrink (a test fails when a listed
# module is back under the limit, so it is taken off), and nothing may join it.
OVER_THE_LIMIT = {
    "tests/terminology/conftest.py",  # the inline terminology content of the tx tests
    "tests/terminology/test_valueset_expand.py",
    "tests/txtests/test_runner_end_to_end.py",
}
CHECKED = ("plugin", "tests", "tools")
# Import cycles plugin/ has, each dodged by an import inside a function or under TYPE_CHECKING. There are
# none left; like OVER_THE_LIMIT this may only shrink, so it stays empty.
KNOWN_CYCLES: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PLUGIN.rglob("*.py"))}


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module of plugin/ a dotted name is, or is inside of (`a.b.func` -> `a.b`)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            resolved = _resolve(target, known)
            if resolved is not None and resolved != name:
                found.add(resolved)
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_plugin__no_import_cycles_beyond_the_shrinking_list() -> None:
    found = {tuple(c) for c in cycles(import_graph())}
    new = sorted(found - KNOWN_CYCLES)
    assert new == [], "import cycles in plugin/:\n" + "\n".join(" <-> ".join(c) for c in new)
    gone = sorted(KNOWN_CYCLES - found)
    assert gone == [], "untangled, take them off KNOWN_CYCLES: " + "; ".join(" <-> ".join(c) for c in gone)
    print("known import cycles, to untangle:", "; ".join(" <-> ".join(c) for c in sorted(found)))


def test_cds_hooks__no_import_cycle_at_all() -> None:
    graph = import_graph()
    engine = {name: targets for name, targets in graph.items() if name.startswith("plugin.cds_hooks")}
    assert cycles(engine) == []
    # Nothing in the engine is typed Any to dodge a cycle: the contract's types are imported for real.
    assert "plugin.cds_hooks.contract" in graph["plugin.cds_hooks.binders.age"]


def test_import_graph__sees_imports_of_every_form() -> None:
    graph = import_graph()
    assert "plugin.cds_hooks.binders" in graph["plugin.cds_hooks"]  # from package import submodule
    assert "plugin.cds_hooks.contract" in graph["plugin.cds_hooks.cards"]  # from module import name
    assert "plugin.cds_hooks.engine.conditions" in graph["plugin.cds_hooks.engine.templates"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _lines() -> dict[str, int]:
    return {
        str(path.relative_to(PROJECT_ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for folder in CHECKED
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
        if ".venv" not in path.parts
    }


def test_modules__at_most_400_lines_outside_the_shrinking_allow_list() -> None:
    lines = _lines()
    over = {path: count for path, count in lines.items() if count > MAX_LINES}
    joined = sorted(set(over) - OVER_THE_LIMIT)
    assert joined == [], f"modules over {MAX_LINES} lines: " + ", ".join(f"{p} ({over[p]})" for p in joined)
    fixed = sorted(OVER_THE_LIMIT - set(over))
    assert fixed == [], f"now at most {MAX_LINES} lines, take them off OVER_THE_LIMIT: {', '.join(fixed)}"
    # Reported with -rA / in a failure message, so the list stays in sight.
    print("over the limit, to split:", ", ".join(f"{p} ({over[p]})" for p in sorted(over)))


def test_plugin__no_module_on_the_allow_list() -> None:
    assert not [p for p in OVER_THE_LIMIT if p.startswith("plugin/")]
