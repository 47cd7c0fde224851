"""HTTP side of the runner: version negotiation, capability fetches and the operation calls.

Mirrors what TxTester and FHIRToolingClient send: JSON with `fhirVersion` in the media type, the
`X-Request-Id` the runner assigns, `Accept-Language` when the test has one, POST for every
operation except validate-code whose parameters are all primitive (then GET with a query string).
Every call has bounded connect and read timeouts; transport problems come back as `HttpResult.error`,
never as an exception.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests

from plugin.version import __version__
from tools.txtests import fhirjson

Json = Any

USER_AGENT = f"cpt-plugin-txtests/{__version__}"

# operation -> (resource type or None for system level, operation name, GET allowed when primitive)
OPERATIONS: dict[str, tuple[str | None, str, bool]] = {
    "expand": ("ValueSet", "$expand", False),
    "validate-code": ("ValueSet", "$validate-code", True),
    "cs-validate-code": ("CodeSystem", "$validate-code", True),
    "lookup": ("CodeSystem", "$lookup", False),
    "translate": ("ConceptMap", "$translate", False),
    "batch-validate": ("ValueSet", "$batch-validate-code", True),
    "compare": ("ValueSet", "$compare", False),
}


@dataclass
class HttpResult:
    method: str
    url: str
    status: int | None = None
    body: Json = None
    text: str = ""
    error: str | None = None
    elapsed_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class ServerInfo:
    fhir_version: str  # the version the runner speaks to the server: "5.0.0" or "4.0.1"
    version_source: str  # "$versions", "metadata", or "default"
    reported_version: str | None = None
    capabilities: Json = None
    capabilities_error: str | None = None
    terminology_capabilities: Json = None
    terminology_capabilities_error: str | None = None
    unreachable: str | None = None
    software: dict[str, str] = field(default_factory=dict)

    @property
    def is_r4(self) -> bool:
        return self.fhir_version.startswith("4")

    def supports_cache_control(self) -> bool:
        caps = self.capabilities
        if not isinstance(caps, dict):
            return False
        for rest in caps.get("rest", []) or []:
            for op in (rest.get("operation", []) or []) if isinstance(rest, dict) else []:
                if isinstance(op, dict) and op.get("name") == "cache-control":
                    return True
        return False


def _primitive(param: Json) -> bool:
    """A parameter FHIRToolingClient.operateType can put in a query string."""
    if not isinstance(param, dict) or "resource" in param or "part" in param:
        return False
    values = [k for k in param if k.startswith("value") and len(k) > 5 and k[5].isupper()]
    return len(values) == 1 and isinstance(param[values[0]], str | bool | int | Decimal)


def all_primitive(params: Json) -> bool:
    items = params.get("parameter", []) if isinstance(params, dict) else []
    return all(_primitive(p) for p in items)


def query_items(params: Json) -> list[tuple[str, str]]:
    items = []
    for param in params.get("parameter", []):
        key = next(k for k in param if k.startswith("value") and len(k) > 5 and k[5].isupper())
        items.append((str(param.get("name", "")), fhirjson.primitive_text(param[key]) or ""))
    return items


def _snippet(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class TxClient:
    def __init__(self, base: str, *, connect_timeout: float = 5.0, read_timeout: float = 60.0) -> None:
        self.base = base.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.fhir_version = "5.0.0"

    def close(self) -> None:
        self.session.close()

    @property
    def media_type(self) -> str:
        return f"application/fhir+json; fhirVersion={self.fhir_version[:3]}"

    # -- plumbing -----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]] | None = None,
        body: Json = None,
        headers: dict[str, str] | None = None,
        accept: str | None = None,
    ) -> HttpResult:
        url = f"{self.base}/{path}" if path else self.base
        all_headers = {"Accept": accept or self.media_type}
        data = None
        if body is not None:
            data = fhirjson.dumps(body).encode("utf-8")
            all_headers["Content-Type"] = self.media_type
        all_headers.update(headers or {})
        result = HttpResult(method, url)
        started = time.monotonic()
        try:
            response = self.session.request(
                method, url, params=params, data=data, headers=all_headers, timeout=self.timeout
            )
        except requests.Timeout:
            result.error = f"no answer from {url} within {self.timeout[1]:g} s"
        except requests.ConnectionError as err:
            result.error = f"cannot connect to {url}: {type(err).__name__}"
        except requests.RequestException as err:
            result.error = f"request to {url} failed: {err}"
        else:
            result.url = response.url
            result.status = response.status_code
            result.text = response.text
            if response.content:
                try:
                    result.body = fhirjson.loads(response.content)
                except ValueError:
                    kind = response.headers.get("Content-Type", "no content type")
                    result.error = (
                        f"HTTP {response.status_code} with a body that is not JSON ({kind}): "
                        f"{_snippet(response.text)!r}"
                    )
            else:
                result.error = f"HTTP {response.status_code} with an empty body"
        result.elapsed_ms = round((time.monotonic() - started) * 1000)
        return result

    # -- start of a run -----------------------------------------------------------------------

    def negotiate(self) -> ServerInfo:
        """Find the FHIR version ($versions, else metadata.fhirVersion, else R4 as TxTester does),
        then fetch the CapabilityStatement and TerminologyCapabilities once."""
        version, source, reported = None, "default", None
        probe = self.request(
            "GET", "$versions", params=[("_format", "json")], accept="application/json, application/fhir+json"
        )
        unreachable = probe.error if probe.status is None else None
        if probe.ok and isinstance(probe.body, dict):
            reported = _default_version(probe.body)
            if reported:
                source = "$versions"
        if reported is None and unreachable is None:
            meta = self.request(
                "GET", "metadata", params=[("_format", "json")], accept="application/fhir+json"
            )
            if meta.status is None:
                unreachable = meta.error
            elif meta.ok and isinstance(meta.body, dict) and isinstance(meta.body.get("fhirVersion"), str):
                reported, source = meta.body["fhirVersion"], "metadata"
        version = reported or "4.0"
        self.fhir_version = (
            "5.0.0" if version[:1] in ("5", "6") else "4.0.1" if version[:1] == "4" else version
        )
        info = ServerInfo(self.fhir_version, source, reported, unreachable=unreachable)
        if unreachable:
            return info
        caps = self.request("GET", "metadata")
        info.capabilities, info.capabilities_error = _resource_or_error(caps, "CapabilityStatement")
        if isinstance(info.capabilities, dict) and isinstance(info.capabilities.get("software"), dict):
            software = info.capabilities["software"]
            info.software = {k: str(software[k]) for k in ("name", "version") if k in software}
        terms = self.request("GET", "metadata", params=[("mode", "terminology")])
        info.terminology_capabilities, info.terminology_capabilities_error = _resource_or_error(
            terms, "TerminologyCapabilities"
        )
        return info

    # -- operations ---------------------------------------------------------------------------

    def operation(self, operation: str, params: Json, headers: dict[str, str]) -> HttpResult:
        if operation == "batch":
            return self.request("POST", "", body=params, headers=headers)
        if operation not in OPERATIONS:
            return HttpResult("", self.base, error=f"unknown operation '{operation}'")
        resource_type, name, get_allowed = OPERATIONS[operation]
        path = f"{resource_type}/{name}" if resource_type else name
        if get_allowed and all_primitive(params):
            return self.request("GET", path, params=query_items(params), headers=headers)
        return self.request("POST", path, body=params, headers=headers)

    def cache_start(self, resources: list[Json], headers: dict[str, str]) -> tuple[str | None, str | None]:
        body = {
            "resourceType": "Parameters",
            "parameter": [{"name": "tx-resource", "resource": r} for r in resources],
        }
        result = self.request(
            "POST", "$cache-control", params=[("mode", "start")], body=body, headers=headers
        )
        if not result.ok or not isinstance(result.body, dict):
            return None, result.error or f"HTTP {result.status}"
        for param in result.body.get("parameter", []):
            if isinstance(param, dict) and param.get("name") == "cache-id":
                value = next((v for k, v in param.items() if k.startswith("value")), None)
                if isinstance(value, str) and value:
                    return value, None
        return None, "no cache-id in the $cache-control answer"

    def cache_end(self, cache_id: str) -> None:
        self.request("GET", "$cache-control", params=[("mode", "end")], headers={"X-Cache-Id": cache_id})


def _default_version(body: dict) -> str | None:
    if body.get("resourceType") == "Parameters":
        for param in body.get("parameter", []):
            if isinstance(param, dict) and param.get("name") == "default":
                value = param.get("valueString", param.get("valueCode"))
                if isinstance(value, str):
                    return value
        return None
    value = body.get("default")
    return value if isinstance(value, str) else None


def _resource_or_error(result: HttpResult, kind: str) -> tuple[Json, str | None]:
    if result.error:
        return None, f"GET {result.url}: {result.error}"
    if not result.ok:
        return None, f"GET {result.url} answered HTTP {result.status}"
    if not isinstance(result.body, dict) or result.body.get("resourceType") != kind:
        found = (
            result.body.get("resourceType") if isinstance(result.body, dict) else type(result.body).__name__
        )
        return None, f"GET {result.url} answered {found}, not a {kind}"
    return result.body, None
