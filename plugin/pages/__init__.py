"""The pages people read: the landing page at `/` and the code pages under `/codes`, rendered on the
server from the FHIR content and the rule and fact data (Jinja2 templates in templates/pages/), or as
JSON for `Accept: application/json`.

`code_page_url` (plugin/pages/urls.py) gives a code's page address, for links from elsewhere.
"""

from __future__ import annotations

from plugin.pages.urls import code_page_url
from plugin.pages.views import init_app

__all__ = ["code_page_url", "init_app"]
