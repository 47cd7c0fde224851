"""The benchmark harness (tools/bench) lives beside the product, not inside it.

Only `cpt-plugin bench` (plugin/commands/bench.py) imports it, lazily; without it the command says
in one line how to install it and exits 2, and the rest of the product never needs it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from plugin.cli import main

ROOT = Path(__file__).resolve().parents[2]
COMMAND = Path("plugin/commands/bench.py")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_plugin__only_the_bench_command_imports_the_harness() -> None:
    importers = sorted(
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "plugin").rglob("*.py")
        if any(name == "tools" or name.startswith("tools.bench") for name in imported_modules(path))
    )
    assert importers == [COMMAND.as_posix()]


def test_plugin__has_no_bench_package_left() -> None:
    assert not (ROOT / "plugin" / "bench").exists()


def test_bench_command__without_the_harness_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "tools.bench", None)  # importing it now raises ImportError
    status = main(["bench", "--duration", "1"])
    assert status == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert "benchmark harness is not installed" in lines[0]
    assert "pip install -e '.[bench]'" in lines[0]
    assert captured.out == ""


def test_docker_image__copies_no_tools() -> None:
    copied = [
        line.split()[1:-1]
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith(("COPY ", "ADD "))
    ]
    sources = [source for sources in copied for source in sources]
    assert sources and not any(source in {".", "./"} or source.startswith("tools") for source in sources)
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "tools" in ignored  # and so not in the build context at all
