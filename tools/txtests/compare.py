"""Compare an expected response (with templates) to a scrubbed, sorted actual response.

A port of CompareUtilities (org.hl7.fhir.r5.test.utils) as the tx-ecosystem runner uses it. The
result is the first difference as a JSON path plus a message, or None when the two match.
Deliberately kept quirks of the official comparator, so pass/fail agrees with it:

- arrays are compared in order (the actual was sorted beforehand);
- a string that differs is still accepted when both sides decode, leniently, as base64 to the same
  non-empty bytes (Apache commons-codec ignores characters outside the alphabet, so two texts that
  differ only in spaces or punctuation compare equal);
- `$external:N:fragments$` is split on every `:`, so a fragment holding a URL keeps only `http`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

Json = Any

MAX_SHOWN = 120

_INSTANT = re.compile(
    r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))",
    re.ASCII,
)
_DATE = re.compile(
    r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])"
    r"(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?",
    re.ASCII,
)
_UUID = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII)
_ID = re.compile(r"[A-Za-z0-9\-\.]{1,64}", re.ASCII)
_URL = re.compile(r"(https?://|www\.)[-a-zA-Z0-9+&@#/%?=~_|!:.;]*[-a-zA-Z0-9+&@#/%=~_|]", re.ASCII)
_TOKEN = re.compile(r"[0-9a-zA-Z_][0-9a-zA-Z_\.\-]*", re.ASCII)
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?",
    re.ASCII,
)
_REGEX_TEMPLATES = {
    "$instant$": (_INSTANT, "an instant"),
    "$date$": (_DATE, "a date"),
    "$uuid$": (_UUID, "a urn:uuid"),
    "$id$": (_ID, "an id"),
    "$url$": (_URL, "a URL"),
    "$token$": (_TOKEN, "a token"),
    "$semver$": (_SEMVER, "a semantic version"),
}

_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_B64.update({"-": 62, "_": 63})  # commons-codec decodes the URL-safe alphabet too
_JAVA_WHITESPACE = "".join(chr(i) for i in range(33))


class TemplateError(Exception):
    """The expected file uses a template this comparator does not know (an error, not a failure)."""


@dataclass(frozen=True)
class Difference:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def show(value: Json) -> str:
    """A value as it appears in a message, long strings cut short."""
    if isinstance(value, str):
        text = value if len(value) <= MAX_SHOWN else value[: MAX_SHOWN - 3] + "..."
        return '"' + text.replace("\n", "\\n") + '"'
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"an array of {len(value)}"
    return str(value)


def java_split(text: str, sep: str) -> list[str]:
    """String.split(regex) for a literal separator: trailing empty strings are dropped."""
    if text == "":
        return [""]
    parts = text.split(sep)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def lenient_base64(text: str) -> bytes:
    """Apache commons-codec Base64.decodeBase64: skips non-alphabet characters, stops at '='."""
    values: list[int] = []
    for ch in text:
        if ch == "=":
            break
        v = _B64.get(ch)
        if v is not None:
            values.append(v)
    out = bytearray()
    full = len(values) - len(values) % 4
    for i in range(0, full, 4):
        n = values[i] << 18 | values[i + 1] << 12 | values[i + 2] << 6 | values[i + 3]
        out += bytes(((n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF))
    rest = values[full:]
    if len(rest) == 2:
        out.append(((rest[0] << 6 | rest[1]) >> 4) & 0xFF)
    elif len(rest) == 3:
        n = (rest[0] << 12 | rest[1] << 6 | rest[2]) >> 2
        out += bytes(((n >> 8) & 0xFF, n & 0xFF))
    return bytes(out)


def _same_base64(a: str, b: str) -> bool:
    x, y = lenient_base64(a), lenient_base64(b)
    return bool(x) and bool(y) and x == y


def _is_number(v: Json) -> bool:
    return isinstance(v, int | float | Decimal) and not isinstance(v, bool)


def _kind(v: Json) -> str:
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    return "primitive"


def _kind_desc(v: Json) -> str:
    return {"object": "an object", "array": "an array"}.get(_kind(v), "a primitive value")


def _type_desc(v: Json) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean " + show(v)
    if isinstance(v, str):
        return "string " + show(v)
    return "number " + show(v)


@dataclass
class Comparator:
    """One comparison's settings: selected modes, the external strings for this response file, the
    variables (`version`: the FHIR version the client speaks), and pattern mode (metadata tests)."""

    modes: Iterable[str] = ()
    externals: Mapping[str, Any] | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    pattern_mode: bool = False
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.modes = frozenset(self.modes)

    def compare(self, expected: Json, actual: Json) -> Difference | None:
        return self._nodes("$", expected, actual, False)

    # -- objects -----------------------------------------------------------------------------

    def _objects(self, path: str, expected: dict, actual: dict) -> Difference | None:
        optionals = {"$optional-properties$", "$count-arrays$"}
        declared = expected.get("$optional-properties$")
        if isinstance(declared, list):
            optionals.update(x for x in declared if isinstance(x, str))
        everything_optional = "*" in optionals
        count_only = expected.get("$count-arrays$")
        count_only = {x for x in count_only if isinstance(x, str)} if isinstance(count_only, list) else set()

        for name, value in actual.items():
            if name == "fhir_comments":
                continue
            if name in expected:
                diff = self._nodes(f"{path}.{name}", expected[name], value, name in count_only)
                if diff:
                    return diff
            elif not self.pattern_mode and not everything_optional and name not in optionals:
                return Difference(path, f'unexpected property "{name}"')
        for name, value in expected.items():
            if name in ("fhir_comments", "$optional$") or everything_optional or name in optionals:
                continue
            if name not in actual and not self._all_optional(value):
                return Difference(path, f'missing property "{name}"')
        return None

    @staticmethod
    def _all_optional(value: Json) -> bool:
        """An expected array whose object items all carry `$optional$` may be absent altogether."""
        if not isinstance(value, list):
            return False
        return all("$optional$" in item for item in value if isinstance(item, dict))

    # -- any node ----------------------------------------------------------------------------

    def _nodes(self, path: str, expected: Json, actual: Json, count_only: bool) -> Difference | None:
        ek, ak = _kind(expected), _kind(actual)
        if ek != ak:
            return Difference(path, f"expected {_kind_desc(expected)}, got {_kind_desc(actual)}")
        if ak == "object":
            return self._objects(path, expected, actual)
        if ak == "array":
            return self._arrays(path, expected, actual, count_only)
        return self._primitives(path, expected, actual)

    def _primitives(self, path: str, expected: Json, actual: Json) -> Difference | None:
        if isinstance(actual, bool) and isinstance(expected, bool):
            if actual != expected:
                return Difference(path, f"expected {show(expected)}, got {show(actual)}")
            return None
        if isinstance(actual, str) and isinstance(expected, str):
            if "<div" in actual and "<div" in expected:
                return None  # narrative: not compared
            if self._matches(actual, expected) or _same_base64(actual, expected):
                return None
            return Difference(path, f"expected {self.describe(expected)}, got {show(actual)}")
        if _is_number(actual) and _is_number(expected):
            if str(actual) != str(expected):
                return Difference(path, f"expected {expected}, got {actual}")
            return None
        if expected is None:
            return None if actual is None else Difference(path, f"expected null, got {show(actual)}")
        return Difference(path, f"expected {_type_desc(expected)}, got {_type_desc(actual)}")

    # -- arrays ------------------------------------------------------------------------------

    def _arrays(self, path: str, expected: list, actual: list, count_only: bool) -> Difference | None:
        n_act, n_exp = len(actual), len(expected)
        if count_only:
            if n_act != n_exp:
                return Difference(path, f"array item count differs: expected {n_exp}, got {n_act}")
            return None
        if self.pattern_mode:
            return self._pattern_array(path, expected, actual)

        n_optional = sum(1 for item in expected if self._is_optional(item))
        minimum = n_exp - n_optional
        if n_act > n_exp or n_act < minimum:
            wanted = str(n_exp) if minimum == n_exp else f"{minimum} to {n_exp}"
            return Difference(path, f"array item count differs: expected {wanted}, got {n_act}")
        c = 0
        for i, item in enumerate(expected):
            if c >= n_act:
                # Actual is used up: fine only if this item is optional and within the optional tail;
                # the remaining expected items are then not looked at (as the official runner does).
                if i >= n_exp - n_optional and self._is_optional(item):
                    self._warn_if_warning(item)
                    return None
                return Difference(f"{path}[{i}]", "no actual item left to match this expected item")
            diff = self._nodes(f"{path}[{i}]", item, actual[c], False)
            if diff is None:
                c += 1
            elif self._is_optional(item):
                self._warn_if_warning(item)
            else:
                return diff
        if c < n_act:
            return Difference(f"{path}[{c}]", "unexpected array item")
        return None

    def _pattern_array(self, path: str, expected: list, actual: list) -> Difference | None:
        """Pattern mode: each expected item, in order, must match some later actual item."""
        c = 0
        for i, item in enumerate(expected):
            diff: Difference | None = Difference(f"{path}[{i}]", "no actual item")
            first: Difference | None = None
            while diff is not None and c < len(actual):
                diff = self._nodes(f"{path}[{i}]", item, actual[c], False)
                first = first or diff
                c += 1
            if diff is not None:
                why = f" (first mismatch: {first})" if first else ""
                return Difference(f"{path}[{i}]", f"expected item not found in the actual array{why}")
        return None

    def _is_optional(self, item: Json) -> bool:
        if not isinstance(item, dict) or "$optional$" not in item:
            return False
        token = item["$optional$"]
        if isinstance(token, bool):
            return token
        if isinstance(token, str):
            return self._passes_optional_filter(token)
        return False

    def _passes_optional_filter(self, token: str) -> bool:
        if token.startswith("!"):
            return token[1:] not in self.modes
        if token.startswith("warning:"):
            return True
        if token.startswith("version:"):
            version = self.variables.get("version")
            return version is not None and version.startswith(token[len("version:") :])
        return token in self.modes

    def _warn_if_warning(self, item: Json) -> None:
        token = item.get("$optional$") if isinstance(item, dict) else None
        if isinstance(token, str) and token.startswith("warning:"):
            self.warnings.append(token[len("warning:") :])

    # -- templates ---------------------------------------------------------------------------

    def _matches(self, actual: str, expected: str) -> bool:
        if not (expected.startswith("$") and expected.endswith("$")):
            version = self.variables.get("version")
            if version is not None and "$version$" in expected:
                expected = expected.replace("$version$", version)
            return actual == expected
        if expected.startswith("$choice:"):
            return actual in java_split(expected[8:-1], "|")
        if expected.startswith("$fragments:"):
            return _contains_all(actual, java_split(expected[11:-1], "|"))
        if expected.startswith("$external:"):
            cmd = java_split(expected[1:-1], ":")
            if len(cmd) < 2:
                raise TemplateError(f"malformed template {expected}")
            if self.externals is not None:
                return actual == self.externals.get(cmd[1])
            if len(cmd) <= 2:
                return True
            return _contains_all(actual, java_split(cmd[2], "|"))
        if expected == "$$":
            return True
        if expected == "$string$":
            return actual == actual.strip(_JAVA_WHITESPACE)
        if expected == "$version$":
            version = self.variables.get("version")
            return version is None or actual == version
        if expected in _REGEX_TEMPLATES:
            return _REGEX_TEMPLATES[expected][0].fullmatch(actual) is not None
        raise TemplateError(f"unknown template {expected}")

    def describe(self, expected: str) -> str:
        """What an expected string asks for, as the message shows it."""
        if not (expected.startswith("$") and expected.endswith("$")):
            return show(expected)
        if expected.startswith("$choice:"):
            return "one of [" + ", ".join(java_split(expected[8:-1], "|")) + "]"
        if expected.startswith("$fragments:"):
            return "text containing all of [" + ", ".join(java_split(expected[11:-1], "|")) + "]"
        if expected.startswith("$external:"):
            cmd = java_split(expected[1:-1], ":")
            key = cmd[1] if len(cmd) > 1 else "?"
            if self.externals is not None:
                return show(self.externals.get(key)) + f" (external string {key})"
            if len(cmd) <= 2:
                return f"any text (no external string {key})"
            return f"text containing all of [{', '.join(java_split(cmd[2], '|'))}] (no external string {key})"
        if expected == "$$":
            return "any value"
        if expected == "$string$":
            return "a string without surrounding whitespace"
        if expected == "$version$":
            return show(self.variables.get("version", "(any version)"))
        if expected in _REGEX_TEMPLATES:
            return _REGEX_TEMPLATES[expected][1]
        return f"unknown template {expected}"


def _contains_all(actual: str, fragments: list[str]) -> bool:
    low = actual.lower()
    return all(f.lower() in low for f in fragments)
