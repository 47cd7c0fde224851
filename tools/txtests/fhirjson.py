"""JSON in and out without losing what the comparison depends on.

The official runner compares numbers by their literal text (`5` is not `5.0`), so decimals are read
as `Decimal` (which keeps the digits as written) and written back from it verbatim. Test files are
UTF-8, several with a byte order mark.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

Json = Any


def loads(data: bytes | str) -> Json:
    if isinstance(data, bytes):
        data = data.decode("utf-8-sig")
    elif data.startswith("\ufeff"):
        data = data[1:]
    return json.loads(data, parse_float=Decimal)


def load_file(path: Path) -> Json:
    return loads(path.read_bytes())


def _dump(value: Json, out: list[str], indent: str | None, level: int) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        out.append(str(value) if value.is_finite() else "null")
    elif isinstance(value, float):
        out.append(json.dumps(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            if indent is not None:
                out.append("\n" + indent * (level + 1))
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(": " if indent is not None else ":")
            _dump(item, out, indent, level + 1)
        if indent is not None:
            out.append("\n" + indent * level)
        out.append("}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            if indent is not None:
                out.append("\n" + indent * (level + 1))
            _dump(item, out, indent, level + 1)
        if indent is not None:
            out.append("\n" + indent * level)
        out.append("]")
    else:
        raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def dumps(value: Json, *, pretty: bool = False) -> str:
    out: list[str] = []
    _dump(value, out, "  " if pretty else None, 0)
    return "".join(out)


def is_primitive(value: Json) -> bool:
    return value is None or isinstance(value, str | bool | int | float | Decimal)


def primitive_text(value: Json) -> str | None:
    """The string form FHIR gives a primitive (Java's primitiveValue())."""
    if value is None or isinstance(value, dict | list):
        return None
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)
