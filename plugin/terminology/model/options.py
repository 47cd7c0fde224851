"""The operation parameters shared by $expand, $validate-code, $lookup and friends (version rules,
languages, flags), interpreted the same way for every operation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plugin.terminology import messages
from plugin.terminology.errors import TxError
from plugin.terminology.model.codesystem import primitive
from plugin.terminology.model.languages import LanguageError, Languages, parse_accept_language
from plugin.terminology.model.parameters import ParsedParameters

_RULE_PARAMS = {
    "system-version": ("default", False),
    "check-system-version": ("check", False),
    "force-system-version": ("override", False),
    "default-valueset-version": ("default", True),
    "check-valueset-version": ("check", True),
    "force-valueset-version": ("override", True),
}
_RULE_NAMES = {(mode, vs): name for name, (mode, vs) in _RULE_PARAMS.items()}
_BOOL_OPTIONS = {
    "activeOnly": "active_only",
    "excludeNested": "exclude_nested",
    "excludeNotForUI": "exclude_not_for_ui",
    "excludePostCoordinated": "exclude_post_coordinated",
    "includeDesignations": "include_designations",
    "includeDefinition": "include_definition",
    "default-to-latest-version": "default_to_latest",
    "lenient-display-validation": "display_warning",
    "valueset-membership-only": "membership_only",
    "inferSystem": "infer_system",
    "diagnostics": "diagnostics",
}


@dataclass(frozen=True)
class VersionRule:
    system: str
    version: str
    mode: str  # default | override | check
    valueset: bool

    @property
    def param_name(self) -> str:
        return _RULE_NAMES[(self.mode, self.valueset)]

    @property
    def value(self) -> str:
        return f"{self.system}|{self.version}"


@dataclass
class TxOptions:
    """The interpreted operation parameters; ValueSet-embedded expansion parameters never override
    ones the request set explicitly."""

    active_only: bool = False
    exclude_nested: bool = False
    exclude_not_for_ui: bool = False
    exclude_post_coordinated: bool = False
    include_designations: bool = False
    include_definition: bool = False
    default_to_latest: bool = False
    display_warning: bool = False
    membership_only: bool = False
    infer_system: bool = False
    diagnostics: bool = False
    abstract_ok: bool = True
    filter: str | None = None
    count: int = -1
    offset: int = -1
    limit: int = -1
    sort: str | None = None
    properties: list[str] = field(default_factory=list)
    designations: list[str] = field(default_factory=list)
    supplements: list[str] = field(default_factory=list)
    version_rules: list[VersionRule] = field(default_factory=list)
    http_languages: Languages | None = None
    display_languages: Languages | None = None
    explicit: set[str] = field(default_factory=set)

    @classmethod
    def from_parameters(cls, params: ParsedParameters, accept_language: str | None = None) -> TxOptions:
        options = cls()
        if accept_language:
            try:
                options.http_languages = parse_accept_language(accept_language)
            except LanguageError:
                options.http_languages = None
        for param in params:
            options.see(param["name"], param, overwrite=True)
        return options

    def has(self, name: str) -> bool:
        return name in self.explicit

    def see(self, name: str, element: dict[str, Any], overwrite: bool) -> None:
        """Take one parameter (a Parameters.parameter or an expansion-parameter extension's value)."""
        value = element.get("resource") if name == "profile" else primitive(element)
        if name in _RULE_PARAMS:
            mode, is_vs = _RULE_PARAMS[name]
            self._rule(name, value, mode, is_vs)
            return
        if name == "property":
            if isinstance(value, str) and value not in self.properties:
                self.properties.append(value)
            return
        if name == "designation":
            if isinstance(value, str):
                self.designations.append(value)
            return
        if name == "useSupplement":
            if isinstance(value, str):
                self.supplements.append(value)
            return
        if name == "profile":
            if isinstance(value, dict) and value.get("resourceType") == "Parameters":
                for nested in value.get("parameter") or []:
                    if isinstance(nested, dict) and isinstance(nested.get("name"), str):
                        self.see(nested["name"], nested, overwrite)
            return
        if not overwrite and name in self.explicit:
            return
        if name in _BOOL_OPTIONS:
            flag = value if isinstance(value, bool) else str(value).lower() == "true"
            setattr(self, _BOOL_OPTIONS[name], flag)
        elif name == "abstract":
            if isinstance(value, bool):
                self.abstract_ok = value
            elif value in ("true", "false"):
                self.abstract_ok = value == "true"
        elif name in ("filter", "term"):
            self.filter = str(value) if value not in (None, "") else None
            name = "filter"
        elif name in ("count", "offset", "limit"):
            setattr(self, name, _as_int(value))
        elif name == "sort":
            self.sort = str(value)
        elif name == "displayLanguage":
            try:
                self.display_languages = parse_accept_language(str(value)) if value else None
            except LanguageError as exc:
                # The catalog's wording, naming the whole parameter value as the client sent it.
                text = messages.render("INVALID_DISPLAY_NAME", str(value))
                raise TxError(
                    400, "INVALID_DISPLAY_NAME", text, code="processing", tx_type="invalid-display"
                ) from exc
        else:
            return
        self.explicit.add(name)

    def _rule(self, name: str, value: Any, mode: str, is_vs: bool) -> None:
        system, sep, version = str(value or "").partition("|")
        if not sep or not system or not version:
            raise TxError(
                400,
                None,
                f"Unable to understand {name} parameter '{value}': expected system|version",
                code="invalid",
                tx_type="invalid-data",
            )
        self.version_rules.append(VersionRule(system, version, mode, is_vs))

    def rules_for(self, system: str, valueset: bool = False) -> list[VersionRule]:
        return [r for r in self.version_rules if r.system == system and r.valueset == valueset]

    def working_languages(self) -> Languages | None:
        return self.display_languages or self.http_languages

    def lang_summary(self) -> str:
        langs = self.working_languages()
        return langs.summary() if langs else "--"


def _as_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value))
    except ValueError:
        return -1
