"""Writing what `build` made: the fact tables and FHIR fragments as the repository keeps them (2-space
indented UTF-8 JSON), each file atomically (a temp file renamed over it), so a build that stops half-way
leaves every file either old or new."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from plugin.content.releases.build import FILE_NAMES, Built


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_json(path: Path, data: dict[str, Any]) -> None:
    """One JSON file, atomically, in the form the repository keeps (2-space indent, UTF-8)."""
    handle, temp = tempfile.mkstemp(prefix=".building-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(render(data))
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write(folder: Path, built: Built) -> list[Path]:
    """Write every built table atomically (temp file + rename), then remove an older file that held
    the same table id under another name, so the folder never has two tables with one id."""
    by_id: dict[str, Path] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            table_id = json.loads(path.read_text(encoding="utf-8")).get("id")
        except (OSError, json.JSONDecodeError, AttributeError):
            continue
        if isinstance(table_id, str):
            by_id[table_id] = path
    staged: list[tuple[Path, Path]] = []
    try:
        for table_id, data in built.tables.items():
            target = folder / FILE_NAMES[table_id]
            handle, temp = tempfile.mkstemp(prefix=".building-", suffix=".json", dir=folder)
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
                out.write(render(data))
            staged.append((Path(temp), target))
    except BaseException:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise
    written = []
    for temp, target in staged:
        os.replace(temp, target)
        written.append(target)
    for table_id in built.tables:
        old = by_id.get(table_id)
        if old is not None and old.name != FILE_NAMES[table_id] and old.exists():
            old.unlink()
    return written
