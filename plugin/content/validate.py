"""Run every check over a set of folders and files; the result is a list of problems, errors first by file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from plugin.content import bundles, model_check, terminology
from plugin.content.index import Index
from plugin.content.loader import load, resources
from plugin.content.problems import ERROR, WARNING, Located, Problem


@dataclass
class Report:
    files: int = 0
    resources: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        verdict = "OK" if self.ok else "FAILED"
        return (
            f"{verdict}: {self.files} files, {self.resources} resources checked; "
            f"{len(self.errors)} errors, {len(self.warnings)} warnings"
        )


def validate_paths(paths: Iterable[Path]) -> Report:
    documents, problems = load(list(paths))
    located = resources(documents)
    report = Report(files=len(documents) + len({p.file for p in problems}), resources=len(located))
    for loc in located:
        model_check.check_structure(loc)
    index = Index.build([loc for loc in located if not _broken(loc)])
    _check_canonicals(located)
    for loc in located:
        if not loc.resource:
            continue
        terminology.check_publishing(loc)
        rtype = loc.resource_type
        if rtype == "CodeSystem":
            terminology.check_code_system(loc, index)
        elif rtype == "ValueSet":
            terminology.check_value_set(loc, index)
        elif rtype == "ConceptMap":
            terminology.check_concept_map(loc, index)
        elif rtype == "Questionnaire":
            terminology.check_questionnaire(loc, index)
        elif rtype == "Bundle":
            bundles.check_bundle(loc)
        terminology.check_codings(loc, index)
    report.problems = problems + [p for loc in located for p in loc.problems]
    report.problems.sort(key=lambda p: (p.file, p.severity != ERROR))
    return report


def _broken(loc: Located) -> bool:
    return not model_check.known_resource_type(loc.resource_type)


def _check_canonicals(located: list[Located]) -> None:
    """url|version identifies one resource; two files claiming it would shadow each other in the registry."""
    seen: dict[tuple[str, str], Located] = {}
    for loc in located:
        url = loc.resource.get("url")
        if not isinstance(url, str) or not url or loc.resource_type not in terminology.CONTENT_TYPES:
            continue
        key = (url, str(loc.resource.get("version") or ""))
        if key in seen:
            first = seen[key]
            loc.error(loc.at("url"), f"{url}|{key[1]} is also defined in {first.file} ({first.base})")
        else:
            seen[key] = loc
