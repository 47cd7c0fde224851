"""Reading FHIR NPM package tarballs (`package/*.json`): the one reader of the registry's loader and of
the content validator (plugin/content/loader.py). Each caller decides what an unreadable file means
(a load error, or a problem to report)."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Collection, Iterator
from pathlib import Path

PACKAGE_SUFFIXES = (".tgz", ".tar.gz")
_NOT_RESOURCES = {"package.json", ".index.json"}


class PackageError(OSError):
    """A tarball that cannot be opened; the message is the archive library's."""


def package_json_files(
    path: Path, resource_types: Collection[str] | None = None
) -> Iterator[tuple[str, bytes]]:
    """(member name, bytes) of each JSON file of the package, in name order, package.json and .index.json
    left out. With `resource_types`, only the files `package/.index.json` lists with one of those types,
    so a large package (the FHIR core) is not read whole; every file when there is no usable index."""
    try:
        archive = tarfile.open(path, "r:*")  # noqa: SIM115 - closed by the `with` below
    except (OSError, tarfile.TarError) as exc:
        raise PackageError(str(exc)) from exc
    with archive:
        members = sorted(archive.getmembers(), key=lambda m: m.name)
        wanted = _indexed_files(archive, members, resource_types) if resource_types is not None else None
        for member in members:
            if not (member.isfile() and member.name.endswith(".json")):
                continue
            if member.name.rsplit("/", 1)[-1] in _NOT_RESOURCES:
                continue
            if wanted is not None and member.name not in wanted:
                continue
            handle = archive.extractfile(member)
            if handle is not None:
                yield member.name, handle.read()


def _indexed_files(
    archive: tarfile.TarFile, members: list[tarfile.TarInfo], resource_types: Collection[str]
) -> set[str] | None:
    """The files `package/.index.json` lists with one of `resource_types`; None without a usable index."""
    index = next((m for m in members if m.name.lstrip("./") == "package/.index.json"), None)
    handle = archive.extractfile(index) if index is not None and index.isfile() else None
    if handle is None:
        return None
    try:
        files = json.load(io.TextIOWrapper(handle, encoding="utf-8")).get("files")
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return None
    if not isinstance(files, list):
        return None
    folder = index.name.rsplit("/", 1)[0]  # type: ignore[union-attr]
    return {
        f"{folder}/{entry['filename']}"
        for entry in files
        if isinstance(entry, dict)
        and entry.get("resourceType") in resource_types
        and isinstance(entry.get("filename"), str)
    }
