"""The pages people read: the landing page at `/` and the code pages under `/codes`, rendered on the
server from the FHIR content and the rule and fact data (Jinja2 templates in templates/pages/), or as
JSON for `Accept: application/json`.

`code_page_url` (plugin/pages/urls.py) gives a code's page address. Importing this package loads
nothing else, so any area (the CDS cards among them) can link to the pages without an import cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugin.pages.urls import code_page_url

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["code_page_url", "init_app"]


def init_app(app: Flask, links: dict[str, str]) -> None:
    """Serve `/` (the landing page) and `/codes`; `links` are the areas the index names."""
    from plugin.pages.views import init_app as register

    register(app, links)
