"""The data copied into tests/data/ is exactly what its SHA256SUMS records, so an edit, a line-end
conversion or a lost file cannot change what the tests measure without this failing; and no test or
command reaches for data outside the repository."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
# Files each folder carries about its data, not data: not listed in SHA256SUMS.
NOT_DATA = {"README.md", "LICENSE", "SHA256SUMS"}
FOLDERS = {"tx-ecosystem": 871, "synthea": 8, "releases": 9}


def manifest(folder: Path) -> dict[str, str]:
    """SHA256SUMS in `sha256sum` format: `<64 hex>  <path relative to the folder>` per line."""
    entries = {}
    for number, line in enumerate((folder / "SHA256SUMS").read_text().splitlines(), 1):
        match = re.fullmatch(r"([0-9a-f]{64})  (\S.*)", line)
        assert match, f"{folder.name}/SHA256SUMS line {number} is not '<sha256>  <path>': {line!r}"
        assert match[2] not in entries, f"{folder.name}/SHA256SUMS lists {match[2]} twice"
        entries[match[2]] = match[1]
    return entries


def drift(folder: Path) -> list[str]:
    """Every difference between the folder's files and its SHA256SUMS, one line each."""
    listed = manifest(folder)
    present = {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).as_posix() not in NOT_DATA
    }
    problems = [f"missing: {name}" for name in sorted(listed.keys() - present)]
    problems += [f"not in SHA256SUMS: {name}" for name in sorted(present - listed.keys())]
    for name in sorted(listed.keys() & present):
        actual = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        if actual != listed[name]:
            problems.append(f"changed: {name} (sha256 {actual}, recorded {listed[name]})")
    return problems


@pytest.mark.parametrize(("name", "count"), sorted(FOLDERS.items()))
def test_vendored_folder__every_file_matches_its_recorded_sha256(name: str, count: int) -> None:
    folder = DATA / name
    assert len(manifest(folder)) == count
    assert drift(folder) == []


@pytest.mark.parametrize("name", sorted(FOLDERS))
def test_vendored_folder__carries_its_licence_and_provenance(name: str) -> None:
    folder = DATA / name
    readme = (folder / "README.md").read_text()
    assert "github.com/" in readme and "Licence:" in readme
    assert (folder / "LICENSE").stat().st_size > 1000


def test_vendored_data__only_the_known_folders() -> None:
    assert {p.name for p in DATA.iterdir() if p.is_dir()} == set(FOLDERS)


def test_drift__reports_a_changed_a_missing_and_an_unlisted_file(tmp_path: Path) -> None:
    (tmp_path / "suite").mkdir()
    (tmp_path / "a.json").write_bytes(b"{}\r\n")
    (tmp_path / "suite" / "b.json").write_bytes(b"[]")
    lines = [f"{hashlib.sha256(b'{}' + bytes([13, 10])).hexdigest()}  a.json"]
    lines.append(f"{hashlib.sha256(b'[]').hexdigest()}  suite/b.json")
    (tmp_path / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    (tmp_path / "README.md").write_text("about the data")
    assert drift(tmp_path) == []

    # The same JSON with its CRLF turned into LF, as a line-end conversion would leave it.
    (tmp_path / "a.json").write_bytes(b"{}\n")
    (tmp_path / "suite" / "b.json").unlink()
    (tmp_path / "suite" / "c.json").write_bytes(b"[]")
    problems = drift(tmp_path)
    assert problems[:2] == ["missing: suite/b.json", "not in SHA256SUMS: suite/c.json"]
    assert len(problems) == 3 and problems[2].startswith("changed: a.json (sha256 ")


# Text the product and its tools are made of: code, templates, data, the README and the manual.
_TEXT_SUFFIXES = {
    ".py",
    ".md",
    ".json",
    ".toml",
    ".html",
    ".js",
    ".css",
    ".properties",
    ".txt",
    ".ini",
    ".cfg",
}


def test_no_test_command_or_page_reaches_beside_the_repository() -> None:
    """No code, data, README or docs page names a folder beside the repository (the product speaks of
    itself; only its own files may be read)."""
    # Spelled in pieces so this file does not match itself.
    outside = re.compile(
        r"\.\./"
        + "shared"
        + r"|/work/"
        + "shared"
        + r"|parent\s*/\s*\""
        + "shared"
        + '"|"'
        + "shared"
        + r"\"\s*/"
    )
    sources = [
        *ROOT.joinpath("tests").rglob("*.py"),
        ROOT / "README.md",
        *ROOT.joinpath("docs").rglob("*.md"),
    ]
    for folder in ("plugin", "tools", "cds_hooks"):
        sources += [p for p in ROOT.joinpath(folder).rglob("*") if p.is_file() and p.suffix in _TEXT_SUFFIXES]
    sources += [ROOT / "Makefile", ROOT / ".ci" / "run", ROOT / "tools" / "ensure-test-deps"]
    assert len(sources) > 300
    assert {"docs", "plugin", "tools"} <= {p.relative_to(ROOT).parts[0] for p in sources}
    offenders = [
        str(p.relative_to(ROOT))
        for p in sources
        if outside.search(p.read_text(encoding="utf-8", errors="replace"))
    ]
    assert offenders == []
