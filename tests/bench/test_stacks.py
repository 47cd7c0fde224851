"""Collapsed py-spy stacks are summarised per function: inclusive counts once per stack, self at the leaf."""

from __future__ import annotations

from tools.bench.stacks import summarise, table

COLLAPSED = """\
run (gunicorn/arbiter.py:10);handle (app.py:5);validate (schemas.py:53);descend (jsonschema/validators.py:1) 6
run (gunicorn/arbiter.py:10);handle (app.py:5);validate (schemas.py:60);descend (jsonschema/validators.py:2) 2
run (gunicorn/arbiter.py:10);handle (app.py:7);commit (store.py:9) 10
run (gunicorn/arbiter.py:10);handle (app.py:5);recurse (r.py:1);recurse (r.py:2) 2
not a stack line
"""


def test_summarise__inclusive_once_per_stack_and_self_at_the_leaf() -> None:
    total, rows = summarise(COLLAPSED)
    by_name = {name: (incl, own) for name, incl, own in rows}
    assert total == 20
    assert by_name["handle (app.py)"] == (20, 0)  # lines 5 and 7 are one function
    assert by_name["validate (schemas.py)"] == (8, 0)
    assert by_name["descend (jsonschema/validators.py)"] == (8, 8)
    assert by_name["commit (store.py)"] == (10, 10)
    assert by_name["recurse (r.py)"] == (2, 2)  # recursion is not counted twice


def test_table__percentages_without_the_servers_own_frames() -> None:
    text = table(COLLAPSED)
    assert "gunicorn/" not in text
    assert "   50.0    50.0  commit (store.py)" in text
    assert "(20 samples)" in text
