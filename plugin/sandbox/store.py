"""The patients the sandbox serves: the committed synthetic set plus imported folders from config.

Loading is separate from answering: `SandboxStore.load()` reads every bundle once into an Index of
resources as a FHIR server would hold them; the FHIR endpoint, the page and replay only read it.
A file that is not a usable bundle, or whose patient is already loaded, is skipped and listed in
`problems` instead of breaking the rest.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from plugin.config import resolve_path
from plugin.sandbox.bundles import Scenario, get_scenario, load_bundle, server_view
from plugin.sandbox.search import Index

log = logging.getLogger(__name__)
EXTENSION_KEY = "sandbox_store"
RECHECK_SECONDS = 1.0


@dataclass
class PatientRecord:
    """One loaded bundle: where it came from, its scenario, and its resources in server form."""

    path: Path
    source: str
    bundle: dict[str, Any]
    scenario: Scenario
    resources: list[dict[str, Any]]

    def resource(self, kind: str, rid: str | None = None) -> dict[str, Any] | None:
        for resource in self.resources:
            if resource["resourceType"] == kind and (rid is None or resource.get("id") == rid):
                return resource
        return None

    def draft_orders(self) -> list[dict[str, Any]]:
        return [
            r for r in self.resources if r["resourceType"] == "ServiceRequest" and r.get("status") == "draft"
        ]


@dataclass
class SandboxStore:
    folders: list[tuple[str, Path]]
    index: Index = field(default_factory=Index)
    records: dict[str, PatientRecord] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def load(self) -> SandboxStore:
        for source, folder in self.folders:
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.json")):
                self._load_file(source, path)
        return self

    def load_paths(self, source: str, paths: list[Path]) -> SandboxStore:
        """Load bundle files and folders given one by one (replay --bundles)."""
        for path in paths:
            for file in sorted(path.glob("*.json")) if path.is_dir() else [path]:
                self._load_file(source, file)
        return self

    def _load_file(self, source: str, path: Path) -> None:
        try:
            bundle = load_bundle(path)
        except (OSError, ValueError) as exc:
            self._problem(f"{path}: {exc}")
            return
        scenario = get_scenario(bundle)
        if scenario is None:
            self._problem(f"{path}: no sandbox scenario in Bundle.meta (write it with synth or import)")
            return
        if scenario.name in self.records:
            self._problem(f"{path}: scenario {scenario.name!r} is already loaded; skipped")
            return
        resources = server_view(bundle)
        if self.index.by_type.get("Patient", {}).get(scenario.patient_id):
            self._problem(f"{path}: patient {scenario.patient_id} is already loaded; skipped")
            return
        for resource in resources:
            held = self.index.by_type.get(resource["resourceType"], {}).get(resource.get("id"))
            if held == resource:
                continue  # the same shared resource (e.g. one hospital) in two patients' records
            if not self.index.add(resource):
                self._problem(
                    f"{path}: {resource['resourceType']}/{resource.get('id')} already loaded; kept first"
                )
        self.records[scenario.name] = PatientRecord(path, source, bundle, scenario, resources)

    def _problem(self, message: str) -> None:
        log.warning("sandbox: %s", message)
        self.problems.append(message)

    def by_patient(self, patient_id: str) -> PatientRecord | None:
        return next((r for r in self.records.values() if r.scenario.patient_id == patient_id), None)


def folders_from_settings(settings: dict[str, Any]) -> list[tuple[str, Path]]:
    folders = [("synthetic", Path(settings["content"]["fhir_bundles"]) / "synthetic")]
    extra = settings.get("sandbox", {}).get("patients_dirs", []) or []
    folders.extend(("imported", resolve_path(settings, str(value))) for value in extra)
    return folders


def signature(folders: list[tuple[str, Path]]) -> tuple[tuple[str, int, int], ...]:
    """What is on disk (names, sizes, mtimes), so a newly imported patient shows without a restart."""
    found = []
    for _source, folder in folders:
        if folder.is_dir():
            for path in sorted(folder.glob("*.json")):
                stat = path.stat()
                found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def get_sandbox_store(app: Flask | None = None) -> SandboxStore:
    application = app or current_app
    cached = application.extensions.get(EXTENSION_KEY)
    now = time.monotonic()
    if cached is not None and now - cached[2] < RECHECK_SECONDS:
        return cached[0]
    folders = folders_from_settings(application.config["PLUGIN"])
    seen = signature(folders)
    if cached is None or cached[1] != seen:
        cached = (SandboxStore(folders).load(), seen, now)
    else:
        cached = (cached[0], seen, now)
    application.extensions[EXTENSION_KEY] = cached
    return cached[0]
