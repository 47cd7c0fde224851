"""Thin HTTP handlers over plugin/pages/model.py: content negotiation, caching, 404s."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, Response, current_app, render_template, request

from plugin.http import json_response
from plugin.pages.inputs import Inputs
from plugin.pages.model import code_page, family
from plugin.pages.modifiers import modifier_page
from plugin.terminology import get_registry
from plugin.version import __version__

bp = Blueprint("pages", __name__, template_folder="templates")
CACHE_KEY = "pages_cache"
LINKS_KEY = "pages_links"
# The pages' own entry, listed apart from the areas' links (whose set programs already rely on).
PAGES = {"codes": "/codes"}
# A family code, or a CPT expression of a base code and one modifier ("33952:62").
CODE_PATTERN = re.compile(r"(?P<code>[0-9A-Z]{5})(?::(?P<modifier>[0-9A-Z]{2}))?")


def wants_json() -> bool:
    """JSON when the client prefers it to HTML (Accept: application/json); a page otherwise."""
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _inputs() -> Inputs:
    from plugin.cds_hooks import EXTENSION_KEY as CDS_KEY

    cds = current_app.extensions.get(CDS_KEY)
    return Inputs(
        registry=get_registry(),
        tables=cds.tables if cds is not None else None,
        rules=list(cds.rules.rules) if cds is not None else [],
    )


def _cached(key: str, build: Any) -> Any:
    """Pages depend only on content loaded at start-up, so each is built once per app."""
    cache = current_app.extensions.setdefault(CACHE_KEY, {})
    if key not in cache:
        built = build()
        if built is None:
            return None  # an unknown code: not kept, so arbitrary paths cannot grow the cache
        cache[key] = built
    return cache[key]


def _render(template: str, data: dict[str, Any], status: int = 200) -> Response:
    if wants_json():
        return json_response(data, status=status)
    links = current_app.extensions[LINKS_KEY] | PAGES
    html = render_template(template, page=data, version=__version__, links=links)
    return Response(html, status=status, mimetype="text/html")


@bp.get("/")
def index() -> Response:
    """What is served here: JSON for programs (the default), the landing page for a browser."""
    links = current_app.extensions[LINKS_KEY]
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        data = _cached("/codes", lambda: family(_inputs()))
        html = render_template("pages/landing.html", page=data, version=__version__, links=links | PAGES)
        return Response(html, mimetype="text/html")
    return json_response({"name": "cpt-plugin", "version": __version__, "links": links, "pages": PAGES})


@bp.get("/codes")
def codes() -> Response:
    return _render("pages/codes.html", _cached("/codes", lambda: family(_inputs())))


@bp.get("/codes/<path:code>")
def code(code: str) -> Response:
    match = CODE_PATTERN.fullmatch(code)
    page = None
    if match is not None:
        base, modifier = match.group("code"), match.group("modifier")
        if modifier is None:
            page = _cached(code, lambda: code_page(_inputs(), base))
        else:
            page = _cached(code, lambda: modifier_page(_inputs(), base, modifier))
    if page is None:
        return not_found(code)
    return _render("pages/modifier.html" if page["kind"] == "modifier" else "pages/code.html", page)


def not_found(code: str) -> Response:
    message = (
        f"{code!r} is not a code of the ECMO/ECLS family, nor a base code with a modifier this "
        "content maps (e.g. 33952:62); see /codes for the list"
    )
    return _render("pages/not_found.html", {"error": "not-found", "code": code, "message": message}, 404)


@bp.app_template_filter("ref_ranges")
def ref_ranges(numbers: list[int]) -> list[tuple[int, int]]:
    """[1, 2, 3, 5] -> [(1, 3), (5, 5)]: a fact cites its sources as compact ranges."""
    ranges: list[tuple[int, int]] = []
    for n in sorted(set(numbers)):
        if ranges and n == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], n)
        else:
            ranges.append((n, n))
    return ranges


def init_app(app: Flask, links: dict[str, str]) -> None:
    """Serve `/` (the landing page) and `/codes`; `links` are the areas the index names."""
    app.extensions[LINKS_KEY] = links
    app.register_blueprint(bp)
