"""The manual's tables say what the code and data say: the rule table of cds-hooks.md is the rule files,
the binder and `applies` tables of recipes.md are the binder registry and the sentence language, and
the key table of configuration.md is config.DEFAULTS (keys, and every default written as one value)."""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

from plugin.cds_hooks import binders
from plugin.cds_hooks.engine.sentences import APPLIES_KEYS
from plugin.config import DEFAULTS, ISSUER_KEYS, PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs"
_CODE = re.compile(r"`([^`]*)`")


def table(page: str, first_header: str) -> list[list[str]]:
    """The rows (cells stripped) of the markdown table whose first header cell is `first_header`."""
    rows: list[list[str]] = []
    inside = False
    for line in (DOCS / page).read_text(encoding="utf-8").splitlines():
        cells = (
            [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else None
        )
        if cells is None:
            if inside:
                break
            continue
        if not inside:
            inside = cells[0] == first_header
            continue
        if set(cells[0]) <= {"-", ":"}:
            continue
        rows.append(cells)
    assert rows, f"no table headed {first_header!r} in docs/{page}"
    return rows


def code(cell: str) -> str:
    found = _CODE.search(cell)
    assert found, f"expected a `code` cell, got {cell!r}"
    return found.group(1)


def rule_data() -> list[dict[str, Any]]:
    folder = PROJECT_ROOT / "cds_hooks" / "rules"
    return [r for path in sorted(folder.glob("*.json")) for r in json.loads(path.read_text())["rules"]]


def test_rule_table__lists_every_rule_with_its_topic() -> None:
    documented = {code(row[0]): row[1] for row in table("cds-hooks.md", "Rule id")}
    rules = {r["id"]: (r["topic"] if "card" in r else "(system action)") for r in rule_data()}
    assert documented == rules


def test_binder_table__is_the_registry_with_each_module() -> None:
    rows = table("recipes.md", "`match.kind`")
    documented = {code(row[0]): code(row[-1]) for row in rows}
    registered = {
        b.kind: "binders/" + b.bind.__module__.rsplit(".", 1)[-1] + ".py" for b in binders.DEFAULT_BINDERS
    }
    assert documented == registered
    for module in documented.values():
        assert (PROJECT_ROOT / "plugin" / "cds_hooks" / module).is_file()


def test_applies_table__is_the_sentence_language() -> None:
    documented = [code(row[0]).split(":")[0] for row in table("recipes.md", "key")]
    assert documented == list(APPLIES_KEYS)


def _leaves(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            found.update(_leaves(value, f"{prefix}{key}."))
        else:
            found[f"{prefix}{key}"] = value
    return found


def test_configuration_table__every_key_of_the_defaults_and_nothing_else() -> None:
    defaults = _leaves(DEFAULTS)
    documented: dict[str, str] = {}
    for row in table("configuration.md", "key"):
        for key in _CODE.findall(row[0]):
            documented[key] = row[1]
    issuer_keys = {k for k in documented if k.startswith("security.issuers[].")}
    assert {k.removeprefix("security.issuers[].") for k in issuer_keys} == ISSUER_KEYS
    assert sorted(set(documented) - issuer_keys) == sorted(defaults)
    for key, cell in documented.items():
        # A default written as one JSON value must be the default; prose ("none", "on in ...") is for people.
        match = re.fullmatch(r"`([^`]*)`", cell)
        if key in defaults and match:
            try:
                value = json.loads(match.group(1))
            except json.JSONDecodeError:
                continue
            assert value == defaults[key], f"{key}: the table says {cell}, the default is {defaults[key]!r}"


def test_table_reader__finds_rows_and_codes() -> None:
    rows = table("configuration.md", "key")
    assert code(rows[0][0]) == "server.host" and rows[0][1] == '`"127.0.0.1"`'


# Paths the architecture page names: rooted at one of these folders, anywhere on the page (tables, prose
# and the drawn request flows), or a bare file or folder name in `code` that must be the end of a path.
_ROOTS = ("plugin", "cds_hooks", "tools", "tests", "fhir_bundles", "docs")
_ROOTED = re.compile(r"(?<![\w./-])((?:" + "|".join(_ROOTS) + r")/[\w./*<>{}-]*)")
_BARE = re.compile(r"^[\w*<>-]+(?:/[\w*<>-]+)*(?:\.(?:py|json|md|toml)|/)$")
_PLACEHOLDER = re.compile(r"<[^>]*>|\{[^}]*\}")


def named_paths(text: str) -> tuple[set[str], set[str]]:
    """(rooted paths, bare names) a page names; `<op>` and `{id}` placeholders become `*`."""
    rooted = {_PLACEHOLDER.sub("*", p).rstrip(".,:;") for p in _ROOTED.findall(text)}
    bare = {
        _PLACEHOLDER.sub("*", token)
        for token in _CODE.findall(text)
        if _BARE.match(token) and not token.startswith(tuple(f"{r}/" for r in _ROOTS))
    }
    return rooted, bare


def _repository_paths() -> list[str]:
    found: list[str] = []
    for root in _ROOTS:
        for path in (PROJECT_ROOT / root).rglob("*"):
            if "__pycache__" in path.parts:
                continue
            found.append(path.relative_to(PROJECT_ROOT).as_posix() + ("/" if path.is_dir() else ""))
    return found


def _ends_a_path(name: str, paths: list[str]) -> bool:
    depth = name.rstrip("/").count("/") + 1
    for path in paths:
        if name.endswith("/") != path.endswith("/"):
            continue
        tail = "/".join(path.rstrip("/").split("/")[-depth:]) + ("/" if name.endswith("/") else "")
        if fnmatch.fnmatchcase(tail, name):
            return True
    return False


def test_architecture_page__every_path_it_names_exists() -> None:
    rooted, bare = named_paths((DOCS / "architecture.md").read_text(encoding="utf-8"))
    assert len(rooted) > 30 and len(bare) > 30
    missing = sorted(p for p in rooted if not list(PROJECT_ROOT.glob(p.rstrip("/"))))
    paths = _repository_paths()
    missing += sorted(f"(bare) {name}" for name in bare if not _ends_a_path(name, paths))
    assert missing == [], f"docs/architecture.md names paths that do not exist: {missing}"


def test_named_paths__finds_rooted_placeholder_and_bare_names() -> None:
    text = "in plugin/terminology/operations/<op>.py and `binders/age.py`, `engine/`, not `a b.py` or `x.y`."
    rooted, bare = named_paths(text)
    assert rooted == {"plugin/terminology/operations/*.py"}
    assert bare == {"binders/age.py", "engine/"}
    assert _ends_a_path("binders/age.py", ["plugin/cds_hooks/binders/age.py"])
    assert not _ends_a_path("binders/agee.py", ["plugin/cds_hooks/binders/age.py"])
