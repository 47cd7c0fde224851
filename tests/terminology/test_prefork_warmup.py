"""The pre-fork warm-up indexes every shared code system where the app is loaded, so gunicorn workers
share the indexes instead of each building its own on first use (plugin/terminology/model/warmup.py)."""

from __future__ import annotations

import pytest

from plugin.serving import WARMUPS_KEY, run_warmups
from plugin.terminology import get_registry
from plugin.terminology.model import codesystem
from plugin.terminology.model.codesystem import CodeSystemView
from tests.terminology.test_endpoint_packages import GENDER_CS, _client


def _views(registry) -> list[CodeSystemView]:
    return [v for v in registry._cache.values() if isinstance(v, CodeSystemView)]


def test_warmup__registered_and_builds_every_shared_and_endpoint_code_system(tmp_path) -> None:
    app, _client_ = _client(tmp_path)
    assert app.extensions[WARMUPS_KEY], "terminology registers its warm-up"
    shared = get_registry(app)
    assert _views(shared) == []  # nothing is built at load: only the warm-up (or first use) builds
    run_warmups(app)
    code_systems = {
        r["url"] for r in shared.every("CodeSystem") if r.get("content") != "supplement" and r.get("url")
    }
    warmed = {v.resource["url"] for v in _views(shared)}
    assert code_systems and code_systems <= warmed
    assert all(v._text_index is not None for v in _views(shared) if v.concepts)
    for fhir_version in ("R4", "R5"):
        endpoint = get_registry(app, fhir_version)
        assert endpoint is not shared
        assert {v.resource["url"] for v in _views(endpoint)} == {GENDER_CS}


def test_after_warmup__requests_build_no_index(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, client = _client(tmp_path)
    run_warmups(app)

    def refuse(*_args, **_kwargs):
        raise AssertionError("a code system index was built on the request path")

    monkeypatch.setattr(codesystem.CodeSystemView, "__init__", refuse)
    monkeypatch.setattr("plugin.terminology.model.textsearch.TextIndex.build", refuse)
    lookup = client.get("/fhir/CodeSystem/$lookup", query_string={"system": GENDER_CS, "code": "male"})
    assert lookup.status_code == 200, lookup.get_data(as_text=True)[:300]
    expand = client.get(
        "/fhir/r5/ValueSet/$expand",
        query_string={"url": "http://hl7.org/fhir/ValueSet/administrative-gender", "filter": "fem"},
    )
    assert expand.status_code == 200, expand.get_data(as_text=True)[:300]
    assert [c["code"] for c in expand.get_json()["expansion"]["contains"]] == ["female"]
