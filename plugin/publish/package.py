"""The FHIR NPM package of the published content: package/package.json, package/.index.json, one file per
resource, and package.tgz (a tarball terminology servers and IG tools load: HAPI, Ontoserver, SUSHI, the IG
Publisher).

Deterministic: the same content gives the same bytes. Files are written in a fixed order with fixed tar
metadata (owner, mode, mtime) and a gzip header without a name or a time, so a package can be rebuilt
and compared byte for byte.

The package layout follows the FHIR NPM package specification (hl7.org/fhir/packages.html): every
resource sits directly in `package/` (tools such as fhir-package-loader read only that folder), named
`{resourceType}-{id}.json`, and `.index.json` (index-version 2) lists each file with its resourceType,
id, url, version and, where the resource has them, kind, type, supplements and content.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugin.terminology.model.registry import CONFORMANCE_TYPES, iter_directory

PACKAGE_NAME = "cpt-plugin.ecmo"
CANONICAL = "https://fhir.cpt-plugin.org"
FHIR_VERSION = "4.0.1"
# The FHIR core package every R4 conformance package depends on.
DEPENDENCIES = {"hl7.fhir.r4.core": FHIR_VERSION}
# The licence of our own work (the project's). Third-party code systems inside keep the copyright
# statement each resource carries (CPT: AMA; HCPCS, CMS POS, ICD-10-CM: US government works).
LICENSE = "Apache-2.0"
# The time npm itself writes into the tar headers of a reproducible `npm pack` (1985-10-26T08:15:00Z).
TAR_MTIME = 499162500
INDEX_KEYS = ("kind", "type", "supplements", "content")
# Two or more dot-separated namespaces, each a lower-case letter then lower-case letters, digits or dashes.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+")


class PackageError(ValueError):
    """Content that cannot be packaged; the message says which resource and why."""


@dataclass(frozen=True)
class Package:
    """What goes into the package: its manifest, its index and each file's bytes, in tar order."""

    manifest: dict[str, Any]
    index: dict[str, Any]
    files: dict[str, bytes]  # path inside the tarball ("package/CodeSystem-x.json") -> bytes

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def version(self) -> str:
        return str(self.manifest["version"])


def _json_bytes(data: Any) -> bytes:
    # Keys in the order the resource was written (FHIR readers expect it); UTF-8, one final newline.
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def published_resources(folders: Iterable[Path]) -> list[dict[str, Any]]:
    """Every canonical resource (CodeSystem, ValueSet, ConceptMap, NamingSystem, Questionnaire) in the
    folders. Patients and other clinical resources, such as the synthetic scenario Bundles, are not
    conformance content and are left out."""
    found: list[dict[str, Any]] = []
    for folder in folders:
        if not folder.is_dir():
            raise PackageError(f"{folder}: content folder does not exist")
        found += [resource for resource, _origin in iter_directory(folder)]
    return found


def content_version(resources: list[dict[str, Any]]) -> str:
    """The version of our own resources (those under the canonical base): the package's version.
    They move together (semantic versioning of the content); a mix is a content error."""
    versions = {
        str(r.get("version"))
        for r in resources
        if str(r.get("url", "")).startswith(CANONICAL + "/") and r.get("version")
    }
    if len(versions) != 1:
        found = ", ".join(sorted(versions)) or "none"
        raise PackageError(
            f"the resources under {CANONICAL} must share one version to name the package; found {found} "
            "(pass --version to choose one)"
        )
    return versions.pop()


def build_package(
    resources: list[dict[str, Any]],
    *,
    name: str = PACKAGE_NAME,
    version: str | None = None,
) -> Package:
    """The manifest, index and files for these resources (pure: no file is written)."""
    if not NAME_PATTERN.fullmatch(name):
        raise PackageError(
            f"package name {name!r} is not valid: two or more dot-separated parts, lower-case letters, "
            "digits and dashes, each part starting with a letter"
        )
    version = version or content_version(resources)
    files: dict[str, bytes] = {}
    entries: list[dict[str, Any]] = []
    for resource in sorted(resources, key=lambda r: (str(r.get("resourceType")), str(r.get("id")))):
        rtype, rid = resource.get("resourceType"), resource.get("id")
        if rtype not in CONFORMANCE_TYPES:
            raise PackageError(f"{rtype} {rid}: only conformance resources are packaged")
        if not isinstance(rid, str) or not re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", rid):
            raise PackageError(
                f"{rtype} with url {resource.get('url')}: needs a valid FHIR id to be packaged"
            )
        filename = f"{rtype}-{rid}.json"
        if f"package/{filename}" in files:
            raise PackageError(f"two {rtype} resources with id {rid!r}")
        files[f"package/{filename}"] = _json_bytes(resource)
        entry: dict[str, Any] = {"filename": filename, "resourceType": rtype, "id": rid}
        for key in ("url", "version", *INDEX_KEYS):
            if isinstance(resource.get(key), str):
                entry[key] = resource[key]
        entries.append(entry)
    dates = sorted(str(r["date"]) for r in resources if isinstance(r.get("date"), str))
    manifest: dict[str, Any] = {
        "name": name,
        "version": version,
        "description": (
            "CPT 33952 (percutaneous peripheral ECMO/ECLS cannulation, age 6 and older) and the ECMO/ECLS "
            "code family 33946-33989 as FHIR R4 terminology: code system fragments in our own words, value "
            "sets, concept maps and the cannulation note form. Every concept names its sources and as-of "
            "date."
        ),
        "author": "cpt-plugin",
        "fhirVersions": [FHIR_VERSION],
        "type": "Conformance",
        "canonical": CANONICAL,
        "url": CANONICAL,
        "license": LICENSE,
        "jurisdiction": "urn:iso:std:iso:3166#US",
        "dependencies": dict(DEPENDENCIES),
    }
    if dates:
        # The newest resource date, not the build time, so that a rebuild gives the same bytes.
        manifest["date"] = re.sub(r"\D", "", dates[-1]).ljust(14, "0")[:14]
    index = {"index-version": 2, "files": entries}
    ordered = {"package/package.json": _json_bytes(manifest), "package/.index.json": _json_bytes(index)}
    return Package(manifest, index, ordered | files)


def tarball(package: Package) -> bytes:
    """The package as a gzipped tar: fixed order, owner, mode and mtime; no name or time in the gzip."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for path, data in package.files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = TAR_MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as zipped:
        zipped.write(raw.getvalue())
    return out.getvalue()


def write_package(package: Package, out: Path) -> Path:
    """Write out/package/... (the unpacked files) and out/package.tgz; returns the tarball's path.
    Files of an earlier package in out/package that this one no longer has are removed."""
    folder = out / "package"
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {path.split("/", 1)[1] for path in package.files}
    for stale in folder.iterdir():
        if stale.is_file() and stale.name not in wanted and stale.suffix == ".json":
            stale.unlink()
    for path, data in package.files.items():
        (out / path).write_bytes(data)
    target = out / "package.tgz"
    target.write_bytes(tarball(package))
    return target
