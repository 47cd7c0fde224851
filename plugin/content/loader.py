"""Reading content: every *.json under the given folders (and FHIR NPM package tarballs), Bundles opened."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from plugin.content.problems import WARNING, Located, Problem
from plugin.terminology.model.packages import PACKAGE_SUFFIXES, PackageError, package_json_files


def display_path(path: Path) -> str:
    """Relative to the working directory when it is below it, so messages read like `fhir_bundles/x.json`."""
    try:
        return os.path.relpath(path) if Path.cwd() in path.resolve().parents else str(path)
    except ValueError:
        return str(path)


def json_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.json") if p.is_file())
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(PACKAGE_SUFFIXES))
        else:
            yield path


def load(paths: Iterable[Path]) -> tuple[list[tuple[str, Any]], list[Problem]]:
    """(display name, parsed JSON) for each document; unreadable ones become problems."""
    documents: list[tuple[str, Any]] = []
    problems: list[Problem] = []
    paths = list(paths)
    problems += [
        Problem(display_path(folder), "", "no *.json files or packages here", WARNING)
        for folder in paths
        if folder.is_dir() and not any(json_files([folder]))
    ]
    for path in json_files(paths):
        name = display_path(path)
        if not path.exists():
            problems.append(Problem(name, "", "no such file or folder"))
        elif path.name.endswith(PACKAGE_SUFFIXES):
            _load_package(path, name, documents, problems)
        else:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(Problem(name, "", f"cannot read: {exc}"))
                continue
            _parse(text, name, documents, problems)
    return documents, problems


def _parse(text: str, name: str, documents: list[tuple[str, Any]], problems: list[Problem]) -> None:
    try:
        documents.append((name, json.loads(text)))
    except json.JSONDecodeError as exc:
        problems.append(Problem(name, f"line {exc.lineno} column {exc.colno}", f"invalid JSON: {exc.msg}"))


def _load_package(path: Path, name: str, documents: list[tuple[str, Any]], problems: list[Problem]) -> None:
    try:
        for member, raw in package_json_files(path):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problems.append(Problem(f"{name}!{member}", "", f"cannot read: {exc}"))
                continue
            _parse(text, f"{name}!{member}", documents, problems)
    except PackageError as exc:
        problems.append(Problem(name, "", f"not a readable package tarball: {exc}"))


def resources(documents: list[tuple[str, Any]]) -> list[Located]:
    """Each top-level resource, and each Bundle entry's resource as well (the Bundle comes first)."""
    located: list[Located] = []
    for name, data in documents:
        if not isinstance(data, dict):
            loc = Located({}, name, "")
            loc.error("", "not a FHIR resource: the document is not a JSON object")
            located.append(loc)
            continue
        top = Located(data, name, str(data.get("resourceType") or ""))
        located.append(top)
        if data.get("resourceType") == "Bundle" and isinstance(data.get("entry"), list):
            for index, entry in enumerate(data["entry"]):
                if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                    located.append(Located(entry["resource"], name, f"Bundle.entry[{index}].resource"))
    return located
