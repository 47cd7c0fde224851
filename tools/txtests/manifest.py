"""Loading a tx-ecosystem test folder (`test-cases.json` and the files it names), and selection.

Selection follows TxTester: a suite or test with `mode` runs only when that mode is selected (a
`modes` list when any of them is), `disabled: true` never runs, and a `version` key is checked
against the test version given to the runner (when none is given, every variant runs).
`response:{mode}` / `request:{mode}` replace the plain file when that mode is selected.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.txtests import fhirjson

MANIFEST_NAME = "test-cases.json"
DEFAULT_PROFILE = "parameters-default.json"


class ManifestError(Exception):
    """The test folder cannot be used (missing or unreadable manifest)."""


@dataclass(frozen=True)
class TxTest:
    suite: str
    name: str
    spec: dict[str, Any]

    @property
    def operation(self) -> str:
        return str(self.spec.get("operation", ""))

    @property
    def id(self) -> str:
        return f"{self.suite}/{self.name}"

    def choose(self, key: str, modes: Sequence[str]) -> str | None:
        """The file for `request` or `response`, honouring `{key}:{mode}` alternates."""
        for mode in modes:
            alt = self.spec.get(f"{key}:{mode}")
            if isinstance(alt, str):
                return alt
        value = self.spec.get(key)
        return value if isinstance(value, str) else None

    @property
    def http_code(self) -> str:
        return str(self.spec.get("http-code", "2xx"))

    @property
    def profile(self) -> str:
        value = self.spec.get("profile")
        return value if isinstance(value, str) else DEFAULT_PROFILE


@dataclass(frozen=True)
class Suite:
    name: str
    spec: dict[str, Any]
    tests: tuple[TxTest, ...]

    @property
    def setup(self) -> list[str]:
        return [s for s in self.spec.get("setup", []) or [] if isinstance(s, str)]


@dataclass
class Manifest:
    folder: Path
    suites: list[Suite]
    sha256: str
    version: str | None
    raw: dict[str, Any] = field(repr=False)

    def path(self, name: str) -> Path:
        return self.folder / name

    def load(self, name: str) -> Any:
        """A JSON file of the test folder (files may carry a byte order mark)."""
        path = self.path(name)
        try:
            return fhirjson.load_file(path)
        except FileNotFoundError:
            raise ManifestError(f"file named by the manifest is missing: {name}") from None
        except (OSError, ValueError) as err:
            raise ManifestError(f"cannot read {name}: {err}") from None

    @property
    def total_tests(self) -> int:
        return sum(len(s.tests) for s in self.suites)


def _package_version(folder: Path) -> str | None:
    """The test-cases version, when the folder comes from the FHIR package (package/package.json)."""
    for candidate in (folder / "package.json", folder.parent / "package.json"):
        try:
            data = json.loads(candidate.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("version"), str):
            return data["version"]
    return None


def load_manifest(folder: Path) -> Manifest:
    """Load `test-cases.json` from a folder (or the file itself)."""
    folder = Path(folder)
    if folder.is_file():
        folder, file = folder.parent, folder
    else:
        file = folder / MANIFEST_NAME
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise ManifestError(f"no {MANIFEST_NAME} in {folder}") from None
    except OSError as err:
        raise ManifestError(f"cannot read {file}: {err}") from None
    try:
        raw = fhirjson.loads(data)
    except ValueError as err:
        raise ManifestError(f"{file} is not valid JSON: {err}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("suites"), list):
        raise ManifestError(f"{file} has no 'suites' list")
    suites = []
    for spec in raw["suites"]:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise ManifestError(f"{file}: a suite without a name")
        tests = tuple(
            TxTest(spec["name"], str(t.get("name", "")), t)
            for t in spec.get("tests", []) or []
            if isinstance(t, dict)
        )
        suites.append(Suite(spec["name"], spec, tests))
    return Manifest(folder, suites, hashlib.sha256(data).hexdigest(), _package_version(folder), raw)


# -- selection ------------------------------------------------------------------------------------


def version_matches(wanted: str, declared: str) -> bool:
    """VersionUtilities.versionMatches, enough of it: equal, or one is a dotted prefix of the other."""
    return wanted == declared or wanted.startswith(declared + ".") or declared.startswith(wanted + ".")


def skip_reason(spec: dict[str, Any], modes: Iterable[str], test_version: str | None) -> str | None:
    """Why a suite or test does not run with these modes (None: it runs)."""
    modes = set(modes)
    if spec.get("disabled") is True:
        return "disabled"
    listed = spec.get("modes")
    if isinstance(listed, list) and listed:
        if not modes.intersection(m for m in listed if isinstance(m, str)):
            return f"modes {'/'.join(map(str, listed))} not selected"
    elif isinstance(spec.get("mode"), str) and spec["mode"] not in modes:
        return f"mode {spec['mode']} not selected"
    declared = spec.get("version")
    if test_version is not None and isinstance(declared, str) and not version_matches(test_version, declared):
        return f"version {declared} does not match {test_version}"
    return None


@dataclass(frozen=True)
class Selection:
    suites: frozenset[str] = frozenset()
    tests: frozenset[str] = frozenset()
    filter: str | None = None

    def wants_suite(self, suite: Suite) -> bool:
        if self.suites and suite.name not in self.suites:
            return False
        if self.tests:
            return any(self.wants_test(t) for t in suite.tests)
        return True

    def wants_test(self, test: TxTest) -> bool:
        if self.tests and test.name not in self.tests and test.id not in self.tests:
            return False
        return not (self.filter and self.filter != "*" and self.filter not in test.name)
