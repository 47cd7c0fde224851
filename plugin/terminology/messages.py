"""The message catalog, kept as data: issue texts are rendered from the vendored Messages.properties.

The catalog is the one the HL7 validator and reference terminology servers use (see data/README.md),
so clients that key on `operationoutcome-message-id` or compare texts see the same wording. Templates
follow java.text.MessageFormat: `{n}` placeholders, `''` for a literal quote, text between single
quotes is literal, and keys ending `_one` / `_other` are the singular and plural forms of one message.
`messages-local.properties` adds this server's own messages (CPT expressions) in the same format.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

CATALOG_FILE = Path(__file__).with_name("data") / "Messages.properties"
LOCAL_FILE = Path(__file__).with_name("data") / "messages-local.properties"

_PLACEHOLDER = re.compile(r"\{(\d+)(?:,[^}]*)?\}")


def _unescape(value: str) -> str:
    """Java .properties escapes (the catalog uses few, but honour them all)."""
    if "\\" not in value:
        return value
    out: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            if nxt == "u" and i + 6 <= len(value):
                try:
                    out.append(chr(int(value[i + 2 : i + 6], 16)))
                    i += 6
                    continue
                except ValueError:
                    pass
            out.append({"n": "\n", "t": "\t", "r": "\r", "f": "\f"}.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def parse_properties(text: str) -> dict[str, str]:
    """Parse Java .properties text (key = value, `#`/`!` comments, backslash continuations)."""
    entries: dict[str, str] = {}
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.lstrip() if pending else raw.strip()
        pending = ""
        if not line or line[0] in "#!":
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            pending = line[:-1]
            continue
        match = re.match(r"((?:[^=:\s\\]|\\.)+)\s*[=:]?\s*(.*)$", line)
        if match:
            entries[_unescape(match.group(1))] = _unescape(match.group(2).rstrip())
    return entries


def format_message(template: str, args: tuple[Any, ...] | list[Any]) -> str:
    """java.text.MessageFormat.format for the subset the catalog uses."""
    out: list[str] = []
    i = 0
    n = len(template)
    quoted = False
    while i < n:
        ch = template[i]
        if ch == "'":
            if i + 1 < n and template[i + 1] == "'":
                out.append("'")
                i += 2
                continue
            quoted = not quoted
            i += 1
            continue
        if not quoted and ch == "{":
            match = _PLACEHOLDER.match(template, i)
            if match:
                index = int(match.group(1))
                out.append(_render_arg(args[index]) if index < len(args) else match.group(0))
                i = match.end()
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _render_arg(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Catalog:
    """Message templates by id; `render` formats one, `plural` picks the `_one`/`_other` form."""

    def __init__(self, entries: dict[str, str]) -> None:
        self.entries = entries

    def has(self, message_id: str) -> bool:
        return message_id in self.entries

    def render(self, message_id: str, *args: Any) -> str:
        template = self.entries.get(message_id)
        if template is None:
            # A missing id is a programming error; still say something useful to the client.
            return message_id + (": " + ", ".join(_render_arg(a) for a in args) if args else "")
        return format_message(template, args)

    def plural(self, count: int, message_id: str, *args: Any) -> str:
        key = f"{message_id}_one" if count == 1 else f"{message_id}_other"
        if key not in self.entries:
            key = message_id
        return self.render(key, *args)


@cache
def catalog() -> Catalog:
    entries = parse_properties(CATALOG_FILE.read_text(encoding="utf-8"))
    for key, value in parse_properties(LOCAL_FILE.read_text(encoding="utf-8")).items():
        entries.setdefault(key, value)
    return Catalog(entries)


def render(message_id: str, *args: Any) -> str:
    return catalog().render(message_id, *args)


def plural(count: int, message_id: str, *args: Any) -> str:
    return catalog().plural(count, message_id, *args)
