"""Where a code's page lives. No Flask or content imports: CDS cards and other areas can link to the
pages without loading them.

    code_page_url("33952")                       -> "/codes/33952"
    code_page_url("33952", "62")                 -> "/codes/33952:62" (the modifier applicability row)
    code_page_url("33952", base="https://x.org") -> "https://x.org/codes/33952"
"""

from __future__ import annotations

from urllib.parse import quote

PREFIX = "/codes"


def code_page_url(code: str, modifier: str | None = None, base: str = "") -> str:
    """The page of a family code, or of its row for one modifier (the CPT expression code:modifier)."""
    path = quote(code, safe="") if modifier is None else f"{quote(code, safe='')}:{quote(modifier, safe='')}"
    return f"{base.rstrip('/')}{PREFIX}/{path}"
