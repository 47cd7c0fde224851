"""A problem found in content: which file, which element (FHIRPath-like), what is wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"

OUR_BASE = "https://fhir.cpt-plugin.org/"
OUR_PUBLISHER = "cpt-plugin"


@dataclass(frozen=True)
class Problem:
    file: str
    path: str
    message: str
    severity: str = ERROR

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        prefix = "" if self.severity == ERROR else f"{self.severity}: "
        return f"{where}: {prefix}{self.message}"


@dataclass
class Located:
    """One resource and where it sits: its file and the element path of the resource itself."""

    resource: dict[str, Any]
    file: str
    base: str  # e.g. "ValueSet" or "Bundle.entry[2].resource"
    problems: list[Problem] = field(default_factory=list)

    @property
    def resource_type(self) -> str:
        return str(self.resource.get("resourceType", ""))

    def at(self, *parts: str | int) -> str:
        """Element path below this resource: at('compose', 'include', 0) -> ValueSet.compose.include[0]."""
        return join_path(self.base, parts)

    def error(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, path, message))

    def warn(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, path, message, WARNING))

    @property
    def is_ours(self) -> bool:
        url = self.resource.get("url")
        return (isinstance(url, str) and url.startswith(OUR_BASE)) or self.resource.get(
            "publisher"
        ) == OUR_PUBLISHER


def join_path(base: str, parts: tuple[str | int, ...] | list[str | int]) -> str:
    path = base
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else part
    return path
