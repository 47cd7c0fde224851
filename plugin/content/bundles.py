"""Bundle checks: entries, fullUrls, requests and the references that tie entries together."""

from __future__ import annotations

import re
import uuid
from typing import Any

from plugin.content.problems import Located

RELATIVE_REFERENCE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(/_history/[A-Za-z0-9\-.]{1,64})?$")


def check_bundle(loc: Located) -> None:
    bundle = loc.resource
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return
    kind = bundle.get("type")
    full_urls: dict[str, int] = {}
    by_type_id: set[tuple[str, str]] = set()
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        resource = entry.get("resource")
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str):
            if full_url in full_urls:
                loc.error(
                    loc.at("entry", i, "fullUrl"),
                    f"fullUrl {full_url!r} is also entry[{full_urls[full_url]}]'s",
                )
            full_urls.setdefault(full_url, i)
            if full_url.startswith("urn:uuid:") and not _is_uuid(full_url[len("urn:uuid:") :]):
                loc.error(loc.at("entry", i, "fullUrl"), f"{full_url!r} is not a valid urn:uuid")
        elif (
            kind in {"transaction", "batch"}
            and isinstance(resource, dict)
            and (entry.get("request") or {}).get("method") == "POST"
        ):
            loc.error(
                loc.at("entry", i, "fullUrl"), "a POSTed entry needs a fullUrl (urn:uuid) to be referenced"
            )
        if isinstance(resource, dict):
            rtype, rid = resource.get("resourceType"), resource.get("id")
            if isinstance(rtype, str) and isinstance(rid, str):
                by_type_id.add((rtype, rid))
        if kind in {"transaction", "batch"}:
            _check_request(loc, entry, i)
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        contained = {c.get("id") for c in resource.get("contained") or [] if isinstance(c, dict)}
        for path, reference in _references(resource, ()):
            where = loc.at("entry", i, "resource", *path, "reference")
            if reference.startswith("urn:uuid:"):
                if reference not in full_urls:
                    loc.error(where, f"{reference} matches no entry's fullUrl")
            elif reference.startswith("#"):
                if reference[1:] and reference[1:] not in contained:
                    loc.error(where, f"{reference} matches no contained resource")
            elif (
                (match := RELATIVE_REFERENCE.match(reference))
                and (match[1], match[2]) not in by_type_id
                and not any(u.endswith("/" + reference) for u in full_urls)
            ):
                loc.warn(where, f"{reference} is not in this Bundle (it must exist on the server)")


def _check_request(loc: Located, entry: dict[str, Any], i: int) -> None:
    request = entry.get("request")
    if not isinstance(request, dict) or not request.get("method") or not request.get("url"):
        loc.error(
            loc.at("entry", i, "request"), "transaction and batch entries need request.method and request.url"
        )
        return
    resource = entry.get("resource")
    if request["method"] == "PUT" and isinstance(resource, dict):
        match = RELATIVE_REFERENCE.match(str(request["url"]).split("?")[0])
        if match and (match[1] != resource.get("resourceType") or match[2] != resource.get("id")):
            loc.error(
                loc.at("entry", i, "request", "url"),
                f"PUT {request['url']} does not match the entry's {resource.get('resourceType')}/"
                f"{resource.get('id')}",
            )


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


def _references(node: Any, path: tuple[str | int, ...]) -> Any:
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield path, node["reference"]
        for key, value in node.items():
            if key != "contained":
                yield from _references(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _references(value, (*path, i))
