"""ICD-10-CM as a served CodeSystem, read from the CDC tabular XML release.

The CDC/NCHS publishes ICD-10-CM each fiscal year (with an April update) as `icd10cm-tabular-*.xml`
(https://www.cdc.gov/nchs/icd/icd-10-cm/files.html; public domain). The layout is
`ICD10CM.tabular > chapter(name, desc) > section(id, desc) > diag(name, desc, diag...)`, with
`sevenChrDef` on a diag defining the 7th characters that every code below it takes (codes shorter
than six characters are padded with the placeholder `X`). The PyPI package `simple-icd-10-cm`
bundles the April 1, 2026 tabular unmodified; it is the default, and a newer tabular can be given
on the command line or in the configuration.

The CodeSystem holds chapters, blocks (sections), categories and codes in their hierarchy, with
property `kind` (chapter | block | category | code) and `billable` (true only for leaves: a code
with subcodes or with 7th characters is a header, not reportable). Headers are also
`notSelectable`, so `$validate-code` against a billable-only value set and `$expand` with
`activeOnly`/`excludeNotForUI` treat them as ICD-10-CM coding rules do.

Memory: ~98,000 concepts. Concept dicts share their property objects (one `billable=true` dict for
every leaf, ...), and strings are interned, so the resource costs about a third of a naive build.
"""

from __future__ import annotations

import gc
import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from xml.parsers import expat

URL = "http://hl7.org/fhir/sid/icd-10-cm"
PUBLISHER_URL = "https://www.cdc.gov/nchs/icd/icd-10-cm/files.html"
DEFAULT_FILE = "icd10c-tabular-April-1-2026.xml"

# Shared, never mutated: each concept's `property` list refers to these.
_KIND = {kind: {"code": "kind", "valueCode": kind} for kind in ("chapter", "block", "category", "code")}
_BILLABLE = {flag: {"code": "billable", "valueBoolean": flag} for flag in (True, False)}
_NOT_SELECTABLE = {"code": "notSelectable", "valueBoolean": True}
_PROPS: dict[tuple[str, bool], list[dict[str, Any]]] = {}


class TabularError(ValueError):
    """The file is not a readable ICD-10-CM tabular XML; the message names it."""


def bundled_tabular() -> Path:
    """The tabular XML that the `simple-icd-10-cm` package ships (April 1, 2026 release)."""
    # find_spec locates the package without importing it: importing it builds its own ~40 MB index.
    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a main dependency
        raise TabularError("package simple-icd-10-cm is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / DEFAULT_FILE


def _props(kind: str, billable: bool) -> list[dict[str, Any]]:
    key = (kind, billable)
    found = _PROPS.get(key)
    if found is None:
        found = [_KIND[kind], _BILLABLE[billable]]
        if not billable:
            found.append(_NOT_SELECTABLE)
        _PROPS[key] = found
    return found


def _concept(code: str, display: str, kind: str, billable: bool) -> dict[str, Any]:
    # Each concept gets its own list (consumers copy it anyway) holding the shared property dicts.
    return {"code": sys.intern(code), "display": display, "property": list(_props(kind, billable))}


class _Node:
    """A chapter, section or diag being read: its own name/desc, children and 7th characters."""

    __slots__ = ("children", "desc", "kind", "name", "seven", "tag")

    def __init__(self, tag: str, name: str = "") -> None:
        self.tag = tag
        self.name = name
        self.desc = ""
        self.children: list[dict[str, Any]] = []
        self.seven: list[tuple[str, str]] | None = None


def _finish(node: _Node, inherited: list[tuple[str, str]] | None, where: str, line: int) -> dict[str, Any]:
    if not node.name or not node.desc:
        raise TabularError(f"{where}: line {line}: a {node.tag} without name or desc ({node.name or '?'})")
    if node.tag == "chapter":
        concept = _concept(node.name, node.desc, "chapter", False)
    elif node.tag == "section":
        concept = _concept(node.name, node.desc, "block", False)
    else:
        seven = node.seven or inherited
        children = node.children
        if not children and seven:
            # The 7th character makes the code: pad to six characters (plus the dot) with X.
            stem = (node.name if "." in node.name else node.name + ".").ljust(7, "X")
            children = [_concept(stem + ch, f"{node.desc}, {text}", "code", True) for ch, text in seven]
        kind = "category" if "." not in node.name else "code"
        concept = _concept(node.name, node.desc, kind, not children)
        node.children = children
    if node.children:
        concept["concept"] = node.children
    return concept


class _Reader:
    """expat callbacks: only names, descriptions, hierarchy and 7th characters are kept (no element
    tree is built, so the 10 MB file is read in one pass with little memory)."""

    TEXT = frozenset({"version", "name", "desc", "extension"})

    def __init__(self, where: str) -> None:
        self.where = where
        self.parser = expat.ParserCreate()
        self.parser.buffer_text = True
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = self.text
        self.version = ""
        self.depth = 0
        self.stack: list[_Node] = []
        self.sevens: list[list[tuple[str, str]] | None] = []  # 7th characters defined at each diag
        self.chapters: list[dict[str, Any]] = []
        self.seven_def: list[tuple[str, str]] | None = None
        self.char = ""
        self.buffer: list[str] | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        if self.depth == 1 and tag != "ICD10CM.tabular":
            raise TabularError(f"{self.where}: root element is {tag!r}, not ICD10CM.tabular")
        if tag in ("chapter", "section", "diag"):
            self.stack.append(_Node(tag, attrs.get("id", "") if tag == "section" else ""))
            if tag == "diag":
                self.sevens.append(None)
        elif tag == "sevenChrDef":
            self.seven_def = []
        elif tag in self.TEXT:
            self.buffer = []
            if tag == "extension":
                self.char = attrs.get("char", "")

    def text(self, data: str) -> None:
        if self.buffer is not None:
            self.buffer.append(data)

    def end(self, tag: str) -> None:
        self.depth -= 1
        stack = self.stack
        if tag in self.TEXT:
            value = "".join(self.buffer or ()).strip()
            self.buffer = None
            if tag == "version" and not stack:
                self.version = value
            elif tag == "name" and stack and not stack[-1].name:
                stack[-1].name = sys.intern(value)
            elif tag == "desc" and stack and not stack[-1].desc:
                stack[-1].desc = value
            elif tag == "extension" and self.seven_def is not None:
                self.seven_def.append((self.char, value))
        elif tag == "sevenChrDef" and stack:
            stack[-1].seven = self.seven_def
            self.sevens[-1] = self.seven_def
            self.seven_def = None
        elif tag in ("chapter", "section", "diag"):
            node = stack.pop()
            inherited = None
            if tag == "diag":
                self.sevens.pop()
                inherited = next((s for s in reversed(self.sevens) if s), None)
            concept = _finish(node, inherited, self.where, self.parser.CurrentLineNumber)
            (stack[-1].children if stack else self.chapters).append(concept)


def _read(path: Path, where: str) -> tuple[str, list[dict[str, Any]]]:
    reader = _Reader(where)
    try:
        with path.open("rb") as handle, no_gc():
            reader.parser.ParseFile(handle)
    except expat.ExpatError as exc:
        raise TabularError(f"{where}: not well-formed XML (truncated?): {exc}") from exc
    except OSError as exc:
        raise TabularError(f"{where}: cannot read: {exc}") from exc
    return reader.version, reader.chapters


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while ~400,000 acyclic containers are made: otherwise it
    runs hundreds of times over the growing heap and more than doubles the time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_tabular(path: Path | None = None, minimum: int = 50_000) -> dict[str, Any]:
    """The ICD-10-CM CodeSystem (FHIR R4 JSON) of one tabular XML file. A release has ~98,000
    concepts; fewer than `minimum` means a cut or partial file (an excerpt passes a lower one)."""
    path = path or bundled_tabular()
    where = str(path)
    version, chapters = _read(path, where)
    if not version.isdigit():
        raise TabularError(f"{where}: no fiscal-year <version> element")
    count = _count(chapters)
    if not chapters or count < minimum:
        raise TabularError(f"{where}: only {count} concepts: truncated or not the full tabular")
    edition = _edition(path.name, version)
    return {
        "resourceType": "CodeSystem",
        "id": "icd-10-cm",
        "url": URL,
        "version": edition,
        "name": "ICD10CM",
        "title": "ICD-10-CM (International Classification of Diseases, 10th Revision, Clinical Modification)",
        "status": "active",
        "experimental": False,
        "publisher": "National Center for Health Statistics (NCHS), CDC",
        "description": (
            f"ICD-10-CM tabular list, FY{version} release (file {path.name}), loaded whole: chapters, "
            "blocks, categories and codes in their hierarchy; property billable marks the codes that "
            "can be reported (leaves, including codes completed with a 7th character). Source: "
            + PUBLISHER_URL
        ),
        "copyright": "ICD-10-CM is published by NCHS/CDC and is in the public domain.",
        "caseSensitive": False,
        "hierarchyMeaning": "is-a",
        "compositional": False,
        "content": "complete",
        "count": count,
        "property": [
            {"code": "kind", "description": "chapter, block, category or code", "type": "code"},
            {"code": "billable", "description": "the code can be reported on a claim", "type": "boolean"},
            {
                "code": "notSelectable",
                "uri": "http://hl7.org/fhir/concept-properties#notSelectable",
                "description": "a header (chapter, block, category or code with subcodes): not reportable",
                "type": "boolean",
            },
        ],
        "concept": chapters,
    }


_LOADED: dict[tuple[str, int], dict[str, Any]] = {}


def cached_tabular(path: Path | None = None) -> tuple[dict[str, Any], str]:
    """The CodeSystem of a tabular file and its origin label, read once per process per file version:
    every app the process creates (tests create many) shares the one read-only resource."""
    path = path or bundled_tabular()
    try:
        key = (str(path), path.stat().st_mtime_ns)
    except OSError as exc:
        raise TabularError(f"{path}: cannot read: {exc}") from exc
    found = _LOADED.get(key)
    if found is None:
        found = _LOADED[key] = load_tabular(path)
        # Kept for the life of the process: out of the cyclic collector's sight from now on, or the
        # next full collection walks its ~400,000 containers (a quarter of a second at start-up).
        gc.freeze()
    return found, str(path)


def is_loaded(resource: dict[str, Any]) -> bool:
    """Whether `resource` is a CodeSystem `cached_tabular` built (its tree is as this module writes it)."""
    return any(resource is loaded for loaded in _LOADED.values())


def _count(items: list[dict[str, Any]]) -> int:
    total = 0
    stack = list(items)
    while stack:
        item = stack.pop()
        total += 1
        stack.extend(item.get("concept") or ())
    return total


def _edition(file_name: str, fiscal_year: str) -> str:
    """`2026` for the October release, `2026-04` for the April update (named in the CDC file name)."""
    lowered = file_name.lower()
    for number, month in enumerate(
        (
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ),
        start=1,
    ):
        if month in lowered and month != "october":
            return f"{fiscal_year}-{number:02d}"
    return fiscal_year
