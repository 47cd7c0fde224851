"""Pre-fork warm-up: index the loaded code systems once, in the process that loads the app.

A code system's index (`CodeSystemView`: concepts by code, hierarchy, designations) and its word
index for `$expand?filter=` are otherwise built on first use, in each worker: about 1.2 s and 80 MB
per 100,000 concepts, again after every worker recycle, showing as latency spikes of hundreds of
milliseconds. Built here, before gunicorn forks (plugin/serving.py runs `prefork_warmups`), they are
shared copy-on-write by every worker, including the ones that replace recycled workers.

Only what every request sees is warmed: the shared registry and each FHIR endpoint's own packages,
as a request without `tx-resource` or requested supplements resolves them (language-pack
supplements applied). Request overlays still build their own views, per request, as before.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from plugin.terminology.model.context import TxContext
from plugin.terminology.model.options import TxOptions
from plugin.terminology.model.registry import Registry

log = logging.getLogger(__name__)


def warm_registry(registry: Registry, fhir_version: str) -> int:
    """Build the view and the word index of every code system the registry holds; returns how many."""
    ctx = TxContext(registry, TxOptions(), fhir_version)
    seen: set[int] = set()
    count = 0
    for resource in registry.every("CodeSystem"):
        if id(resource) in seen or resource.get("content") == "supplement" or not resource.get("url"):
            continue
        seen.add(id(resource))
        if ctx.code_system_resource(resource["url"], resource.get("version")) is not resource:
            continue  # shadowed by another resource with the same url|version
        view = ctx.view(resource, ctx.supplements_for(resource))
        if view.concepts:
            view.text_index()
            # A view with more state built on first use (the ICD-10-CM view's subtree spans) warms it too.
            warm = getattr(view, "warm", None)
            if warm is not None:
                warm()
        count += 1
    return count


def warm_terminology(shared: Registry, endpoints: dict[str, Registry]) -> dict[str, Any]:
    started = time.perf_counter()
    counts = {"shared": warm_registry(shared, "R4")}
    for fhir_version, registry in endpoints.items():
        if registry is not shared:
            counts[fhir_version] = warm_registry(registry, fhir_version)
    elapsed = time.perf_counter() - started
    log.info("terminology indexes built before fork: %s code systems in %.2f s", counts, elapsed)
    return {"code_systems": counts, "seconds": round(elapsed, 3)}
