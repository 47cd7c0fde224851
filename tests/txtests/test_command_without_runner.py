"""`cpt-plugin txtests` where the runner (tools/txtests) is not installed: a clear message, status 2."""

from __future__ import annotations

import sys

import pytest

from plugin.cli import main


def test_txtests__without_the_runner_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "tools.txtests.client", None)  # import of it raises ImportError
    status = main(["txtests", "--url", "http://127.0.0.1:9/fhir"])
    assert status == 2
    err = capsys.readouterr().err
    assert "the test runner is not installed" in err
    assert "pip install -e '.[txtests]'" in err
