"""The service definitions, written once in cds_hooks/services.json; discovery is a dump of them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugin.cds_hooks.errors import RuleError
from plugin.cds_hooks.schemas import HOOK_SCHEMAS, Schemas


@dataclass(frozen=True)
class Service:
    id: str
    hook: str
    prefetch: dict[str, str]
    definition: dict[str, Any]


@dataclass
class Catalog:
    services: list[Service]

    def get(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def discovery(self) -> dict[str, Any]:
        return {"services": [s.definition for s in self.services]}


def load_services(path: Path, schemas: Schemas) -> Catalog:
    data = json.loads(path.read_text(encoding="utf-8"))
    error = schemas.first_error("discovery.schema.json", data)
    if error:
        raise RuleError(f"{path}: {error[1]}")
    services = []
    for definition in data["services"]:
        if definition["hook"] not in HOOK_SCHEMAS:
            raise RuleError(
                f"{path}: service {definition['id']!r}: hook {definition['hook']!r} is not supported"
            )
        services.append(
            Service(definition["id"], definition["hook"], definition.get("prefetch", {}), definition)
        )
    if len({s.id for s in services}) != len(services):
        raise RuleError(f"{path}: service ids must be unique")
    return Catalog(services)
