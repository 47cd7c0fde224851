"""Per-request state of a terminology operation: the resources it may see and the options it was given.

`TxOptions` interprets the operation parameters shared by $expand, $validate-code, $lookup and friends
(version rules, languages, flags) the same way for every operation; `TxContext` resolves code systems
and value sets through the request's registry overlay, applying the version rules
(`system-version`, `force-system-version`, `check-system-version`, `default-valueset-version`...).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from plugin.operation_outcome import OperationOutcomeError, tx_issue
from plugin.terminology import messages, versioning
from plugin.terminology.codesystem import CodeSystemView, is_lang_pack, primitive
from plugin.terminology.languages import LanguageError, Languages, parse_accept_language
from plugin.terminology.parameters import ParsedParameters
from plugin.terminology.registry import Registry

EXT_EXPANSION_PARAMETER = (
    "http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter",
    "http://hl7.org/fhir/tools/StructureDefinition/valueset-expansion-parameter",
)
EXT_VS_SUPPLEMENT = "http://hl7.org/fhir/StructureDefinition/valueset-supplement"
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


class TxError(OperationOutcomeError):
    """A terminology error: one tx-issue-type coded issue rendered from the message catalog.

    `in_result` marks errors that $validate-code reports inside its Parameters (result=false)
    rather than as an HTTP error; everything else becomes an OperationOutcome with `status`.
    """

    def __init__(
        self,
        status: int,
        message_id: str | None,
        text: str,
        *,
        code: str = "processing",
        tx_type: str | None = None,
        expression: str | list[str] | None = None,
        in_result: bool = False,
        unknown_system: str | None = None,
        severity: str = "error",
    ) -> None:
        super().__init__(
            status,
            tx_issue(severity, code, tx_type, text, message_id=message_id, expression=expression),
        )
        self.message_id = message_id
        self.text = text
        self.in_result = in_result
        self.unknown_system = unknown_system


def tx_error(status: int, message_id: str, *args: Any, **kwargs: Any) -> TxError:
    return TxError(status, message_id, messages.render(message_id, *args), **kwargs)


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
                raise TxError(
                    400, "INVALID_DISPLAY_NAME", str(exc), code="processing", tx_type="invalid-display"
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


class TxContext:
    """What one operation may see (registry overlay) and how it was asked (options)."""

    def __init__(self, registry: Registry, options: TxOptions, fhir_version: str = "R5") -> None:
        self.registry = registry
        self.options = options
        self.fhir_version = fhir_version
        self.used_rules: list[VersionRule] = []
        self.required_supplements: set[str] = set(options.supplements)
        self.used_supplements: set[str] = set()

    # -- versions ------------------------------------------------------------------------------
    def determine_version(self, url: str, version: str | None, valueset: bool = False) -> str | None:
        """The version to use for `url`, after the request's version rules."""
        rules = self.options.rules_for(url, valueset)
        result = version or None
        overrides = [r for r in rules if r.mode == "override"]
        if overrides:
            if len({r.version for r in overrides}) > 1:
                raise tx_error(
                    400,
                    "SYSTEM_VERSION_MULTIPLE_OVERRIDE",
                    url,
                    overrides[0].version,
                    overrides[1].version,
                    code="exception",
                    tx_type="version-error",
                )
            self._used(overrides[0])
            return overrides[0].version
        if not result:
            defaults = [r for r in rules if r.mode == "default"]
            if defaults:
                self._used(defaults[0])
                result = defaults[0].version
        if not result:
            checks = [r for r in rules if r.mode == "check"]
            if checks:
                self._used(checks[0])
                result = checks[0].version
        return result

    def _used(self, rule: VersionRule) -> None:
        if rule not in self.used_rules:
            self.used_rules.append(rule)

    def version_check_failure(self, url: str, actual: str | None) -> TxError | None:
        for rule in self.options.rules_for(url):
            if rule.mode == "check" and not versioning.version_matches(rule.version, actual):
                return tx_error(
                    400,
                    "VALUESET_VERSION_CHECK",
                    url,
                    actual or "",
                    rule.version,
                    code="exception",
                    tx_type="version-error",
                )
        return None

    # -- code systems ------------------------------------------------------------------------
    def code_system_versions(self, url: str) -> list[str]:
        found = {
            r.get("version")
            for r in self.registry.versions(url)
            if r.get("resourceType") == "CodeSystem" and r.get("content") != "supplement" and r.get("version")
        }
        return versioning.sort_versions(v for v in found if v)

    def code_system_resource(self, url: str, version: str | None = None) -> dict[str, Any] | None:
        """The CodeSystem for url and (exact, wildcard or partial) version; latest when unversioned."""
        candidates = [r for r in self.registry.versions(url) if r.get("resourceType") == "CodeSystem"]
        if version:
            exact = [r for r in candidates if r.get("version") == version]
            if exact:
                return exact[0]
            candidates = [r for r in candidates if versioning.version_matches(version, r.get("version"))]
        return versioning.latest(candidates)

    def supplement_resource(self, url: str, version: str | None = None) -> dict[str, Any] | None:
        found = self.code_system_resource(url, version)
        return found if found is not None and found.get("content") == "supplement" else None

    def code_system(
        self, url: str | None, version: str | None = None, *, rules: bool = True
    ) -> CodeSystemView | None:
        """An indexed code system (supplements applied), or None when unknown or only a supplement."""
        if not url:
            return None
        if rules:
            version = self.determine_version(url, version)
        resource = self.code_system_resource(url, version)
        if resource is None or resource.get("content") == "supplement":
            return None
        supplements = self.supplements_for(resource)
        return self.view(resource, supplements)

    def view(self, resource: dict[str, Any], supplements: list[dict[str, Any]]) -> CodeSystemView:
        key = ("cs-view", id(resource), tuple(id(s) for s in supplements))
        view = self.registry.cached(
            key, [resource, *supplements], lambda: CodeSystemView(resource, supplements)
        )
        for reference in self.required_supplements:
            if view.has_supplement(reference):
                self.used_supplements.add(reference)
        return view

    def supplements_for(self, resource: dict[str, Any]) -> list[dict[str, Any]]:
        url, version = resource.get("url", ""), resource.get("version")
        out: list[dict[str, Any]] = []
        for supplement in self.registry.supplements(url):
            target, _, target_version = str(supplement.get("supplements", "")).partition("|")
            if target != url:
                continue
            if target_version and version and not versioning.version_matches(target_version, version):
                continue
            if is_lang_pack(supplement) or self._supplement_requested(supplement):
                out.append(supplement)
        return out

    def _supplement_requested(self, supplement: dict[str, Any]) -> bool:
        url, version = supplement.get("url"), supplement.get("version")
        for reference in self.required_supplements:
            ref_url, _, ref_version = reference.partition("|")
            if ref_url == url and (not ref_version or ref_version == version):
                return True
        return False

    def missing_supplements(self) -> list[str]:
        return sorted(s for s in self.required_supplements if s not in self.used_supplements)

    def require_supplements_of(self, value_set: dict[str, Any]) -> None:
        for ext in value_set.get("extension") or []:
            if (
                isinstance(ext, dict)
                and ext.get("url") == EXT_VS_SUPPLEMENT
                and isinstance(primitive(ext), str)
            ):
                self.required_supplements.add(primitive(ext))

    # -- value sets ------------------------------------------------------------------------------
    def value_set(
        self, reference: str, version: str | None = None, source: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        if reference.startswith("#"):
            for contained in (source or {}).get("contained") or []:
                if (
                    isinstance(contained, dict)
                    and contained.get("resourceType") == "ValueSet"
                    and contained.get("id") == reference[1:]
                ):
                    return contained
            return None
        url, _, pinned = reference.partition("|")
        version = version or pinned or None
        version = self.determine_version(url, version, valueset=True)
        candidates = [r for r in self.registry.versions(url) if r.get("resourceType") == "ValueSet"]
        if version:
            exact = [r for r in candidates if r.get("version") == version]
            if exact:
                return exact[0]
            candidates = [r for r in candidates if versioning.version_matches(version, r.get("version"))]
        return versioning.latest(candidates)

    def apply_value_set_parameters(self, value_set: dict[str, Any]) -> None:
        """Expansion parameters a value set declares on its compose; the request's own win."""
        compose = value_set.get("compose") or {}
        for ext in compose.get("extension") or [] if isinstance(compose, dict) else []:
            if not isinstance(ext, dict) or ext.get("url") not in EXT_EXPANSION_PARAMETER:
                continue
            parts = {e.get("url"): e for e in ext.get("extension") or [] if isinstance(e, dict)}
            name = primitive(parts.get("name", {})) if "name" in parts else None
            if isinstance(name, str) and "value" in parts:
                self.options.see(name, parts["value"], overwrite=False)
        if self.options.http_languages is None and isinstance(value_set.get("language"), str):
            with contextlib.suppress(LanguageError):
                self.options.http_languages = parse_accept_language(value_set["language"])
