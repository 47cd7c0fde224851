"""Value set membership of one code (`ValueSetChecker`): the core of $validate-code.

Spec: http://hl7.org/fhir/R5/valueset-operation-validate-code.html. Membership is tested against
the compose directly (no expansion): includes are tried newest version first, the coding's version
is reconciled with the include's, concept lists / filters / imported value sets decide membership,
then excludes. Findings go to a `Findings`; `verdict.py` assembles the Parameters answer.
"""

from __future__ import annotations

from typing import Any

from plugin.terminology import messages
from plugin.terminology.errors import circular_reference, tx_error
from plugin.terminology.expand.filters import compile_filter
from plugin.terminology.expand.sources import include_filters
from plugin.terminology.model import versioning
from plugin.terminology.model.codesystem import CodeSystemView, Concept
from plugin.terminology.model.context import TxContext
from plugin.terminology.model.resources import (
    ALL_VERSIONS,
    EXT_VS_DEPRECATED,
    add_path,
    each_version,
    has_extension,
    include_designations,
    newest_first,
    standards_status,
    vurl,
    walk_contains,
)
from plugin.terminology.validate.findings import (
    Findings,
    reconcile_version,
    report_unknown_system,
    status_check,
    unknown_code_id,
    unknown_code_text,
)
from plugin.terminology.validate.inference import infer_system


class ValueSetChecker:
    """Membership of codes in one value set (with nested checkers for imported value sets)."""

    def __init__(
        self,
        ctx: TxContext,
        value_set: dict[str, Any],
        *,
        internal: bool = False,
        stack: tuple[str, ...] = (),
    ) -> None:
        self.ctx = ctx
        self.options = ctx.options
        self.value_set = value_set
        self.internal = internal
        self.compose = value_set.get("compose") if isinstance(value_set.get("compose"), dict) else None
        self.others: dict[str, ValueSetChecker] = {}
        self.stack = stack

    @property
    def label(self) -> str:
        return vurl(self.value_set) or messages.render("VALUESET_UNIDENTIFIED")

    # -- preparation: what must hold before any code is checked ---------------------------------
    def prepare(self) -> None:
        key = vurl(self.value_set) or f"#{self.value_set.get('id', '')}"
        if key in self.stack:
            raise circular_reference(key, self.stack)
        if self.compose is None:
            return
        sets = [("include", i) for i in self.compose.get("include") or []]
        sets += [("exclude", e) for e in self.compose.get("exclude") or []]
        counters = {"include": 0, "exclude": 0}
        for kind, item in sets:
            index = counters[kind]
            counters[kind] += 1
            if not isinstance(item, dict):
                continue
            for reference in item.get("valueSet") or []:
                self._prepare_import(reference, (*self.stack, key))
            system = item.get("system")
            if not system:
                continue
            view = self.ctx.code_system(system, item.get("version"))
            if view is None:
                continue
            path = f"ValueSet.compose.{kind}[{index}]"
            include_filters(view, item, path, str(self.value_set.get("url") or ""))

    def _prepare_import(self, reference: Any, stack: tuple[str, ...]) -> None:
        if not isinstance(reference, str) or reference in self.others:
            return
        target = self.ctx.value_set(reference, source=self.value_set)
        if target is None:
            url, _, version = reference.partition("|")
            version = version or self.ctx.determine_version(url, None, valueset=True) or ""
            shown = f"{url}|{version}" if version else url
            raise tx_error(
                422,
                "Unable_to_resolve_value_Set_",
                shown,
                code="not-found",
                tx_type="not-found",
                in_result=True,
            )
        checker = ValueSetChecker(self.ctx, target, stack=stack)
        checker.prepare()
        self.others[reference] = checker

    # -- membership -------------------------------------------------------------------------------
    def check(
        self,
        path: str,
        system: str | None,
        version: str | None,
        code: str,
        found: Findings,
        display: str | None = None,
    ) -> bool | None:
        """True: in the value set; False: not; None: could not tell (unknown code system)."""
        options = self.options
        if not system and not options.infer_system:
            found.add(
                "warning",
                "invalid",
                path,
                "Coding_has_no_system__cannot_validate",
                messages.render("Coding_has_no_system__cannot_validate"),
                "invalid-data",
                message=True,
            )
            return False
        if not system:
            system = infer_system(self.ctx, self.value_set, self.label, self.compiled_filters, code, found)
            if not system:
                return False
            found.implied_system = system
        if self.compose is None:
            return self._check_expansion(path, system, version, code, found)
        raw = [i for i in self.compose.get("include") or [] if isinstance(i, dict)]
        includes = [item for item, _ in each_version(raw, self.ctx.code_system_versions)]
        chosen_version = None
        if not version:
            versions = {i.get("version") for i in includes if i.get("system") == system and i.get("version")}
            if len(versions) > 1:
                chosen_version = self._pick_version(versions, system, code, display)
        ordered = newest_first(includes)
        result: bool | None = False
        for item in ordered:
            if not item.get("system"):
                result = True
            elif (
                item["system"] == system
                and (chosen_version is None or item.get("version") == chosen_version)
                and self._use_this_version(item, version, includes)
            ):
                resolved = reconcile_version(self.ctx, path, system, item.get("version"), version, found)
                view = self.ctx.code_system(system, resolved)
                if view is None:
                    if options.membership_only:
                        return False
                    report_unknown_system(self.ctx, path, system, resolved, found)
                    return None
                failure = self.ctx.version_check_failure(system, view.version)
                if failure is not None:
                    found.add(
                        "error",
                        "exception",
                        add_path(path, "version"),
                        failure.message_id,
                        failure.text,
                        "version-error",
                        message=True,
                    )
                found.default_language = view.language
                status_check(view.resource, self.value_set, found)
                found.content_mode = view.content
                result = self._check_concept_set(path, "in", view, item, code, found)
                if result:
                    found.version = view.version
            else:
                result = False
            for reference in item.get("valueSet") or []:
                other = self.others.get(reference)
                if other is None:
                    continue
                status_check(other.value_set, self.value_set, found)
                if result is True:
                    result = other.check(path, system, version, code, found)
            if result is True and any(
                isinstance(out, dict) and self._excluded(path, system, version, code, out, found)
                for out in self.compose.get("exclude") or []
            ):
                # Excluded in the version found; another include may still hold it, so this
                # version's displays are forgotten.
                result = False
                found.designations, found.version = [], None
                continue
            if result is True:
                break
        return result

    def _excluded(self, path, system, version, code, item, found) -> bool:  # type: ignore[no-untyped-def]
        excluded = True
        if item.get("system"):
            wanted, matched = item.get("version"), found.version
            if item["system"] != system:
                excluded = False
            elif (
                wanted
                and wanted != ALL_VERSIONS
                and matched
                and not versioning.version_matches(wanted, matched)
            ):
                excluded = False  # the exclude names another version than the one the code was found in
            else:
                # A versionless (or `*`) exclude applies to whichever version the code was found in.
                chosen = matched if matched and (not wanted or wanted == ALL_VERSIONS) else wanted
                view = self.ctx.code_system(system, chosen)
                excluded = view is not None and self._check_concept_set(
                    path, "not in", view, item, code, found
                )
        for reference in item.get("valueSet") or []:
            other = self.others.get(reference)
            if other is not None:
                scratch = Findings()
                excluded = excluded and other.check(path, system, version, code, scratch) is True
        return bool(excluded)

    def _check_expansion(self, path, system, version, code, found) -> bool:  # type: ignore[no-untyped-def]
        expansion = self.value_set.get("expansion") or {}
        for item in walk_contains(expansion.get("contains") or []):
            if item.get("system") == system and item.get("code") == code:
                if (
                    version
                    and item.get("version")
                    and not versioning.version_matches(version, item["version"])
                ):
                    continue
                view = self.ctx.code_system(system, item.get("version") or version)
                if view is not None:
                    concept = view.locate(code)
                    if concept is not None:
                        found.version = view.version
                        found.designations.extend(concept.designations)
                        found.see_concept(view, concept, path, code)
                        found.view = view
                return True
        return False

    def _use_this_version(
        self, item: dict[str, Any], version: str | None, includes: list[dict[str, Any]]
    ) -> bool:
        if not version or item.get("version") == version:
            return True
        return not any(i.get("version") == version for i in includes)

    def _pick_version(self, versions: set[str], system: str, code: str, display: str | None) -> str | None:
        found = []
        for version in versions:
            view = self.ctx.code_system(system, version)
            concept = view.locate(code) if view else None
            if concept is not None and (not display or any(d.value == display for d in concept.designations)):
                found.append(version)
        if len(found) == len(versions):
            return None
        pool = found or list(versions)
        return sorted(pool, key=versioning.version_key, reverse=True)[0]

    def compiled_filters(self, view: CodeSystemView, item: dict[str, Any]) -> list[Any]:
        return [
            compile_filter(view, str(raw.get("property")), str(raw.get("op")), str(raw["value"]))
            for raw in item.get("filter") or []
            if isinstance(raw, dict) and raw.get("value") not in (None, "")
        ]

    # -- versions ----------------------------------------------------------------------------------

    # -- concept sets ----------------------------------------------------------------------------
    def _check_concept_set(
        self, path: str, role: str, view: CodeSystemView, item: dict[str, Any], code: str, found: Findings
    ) -> bool:
        options = self.options
        including = role == "in"
        exclude_inactive = (self.compose or {}).get("inactive") is False
        if not item.get("concept") and not item.get("filter"):
            concept = view.locate(code)
            if concept is None:
                if not options.membership_only and including:
                    if view.content != "complete":
                        found.add(
                            "warning",
                            "code-invalid",
                            add_path(path, "code"),
                            "UNKNOWN_CODE_IN_FRAGMENT",
                            messages.render("UNKNOWN_CODE_IN_FRAGMENT", code, view.url, view.version or ""),
                            "invalid-code",
                        )
                        return True
                    found.add(
                        "error",
                        "code-invalid",
                        add_path(path, "code"),
                        unknown_code_id(view),
                        unknown_code_text(view, code),
                        "invalid-code",
                    )
                return False
            return self._accept(path, role, view, concept, code, found, exclude_inactive, ref=None)
        for ref in item.get("concept") or []:
            if not isinstance(ref, dict) or ref.get("code") != code:
                continue
            concept = view.locate(code)
            if concept is None:
                continue
            return self._accept(path, role, view, concept, code, found, exclude_inactive, ref=ref)
        if item.get("filter"):
            concept = view.locate(code)
            if concept is None:
                return False
            if all(f.matches(concept) for f in self.compiled_filters(view, item)):
                return self._accept(path, role, view, concept, code, found, exclude_inactive, ref=None)
        return False

    def _accept(
        self,
        path: str,
        role: str,
        view: CodeSystemView,
        concept: Concept,
        code: str,
        found: Findings,
        exclude_inactive: bool,
        ref: dict[str, Any] | None,
    ) -> bool:
        options = self.options
        including = role == "in"
        if including:
            found.view = view
            found.designations.extend(concept.designations)
            if ref is not None:
                found.designations.extend(include_designations(ref, self.value_set))
            if concept.code != code:
                message_id = (
                    "CODE_CASE_DIFFERENCE"
                    if concept.code.lower() == code.lower()
                    else "CODE_NOT_IN_NORMAL_FORM"
                )
                text = messages.render(message_id, code, concept.code, view.canonical)
                found.add(
                    "information", "business-rule", add_path(path, "code"), message_id, text, "code-rule"
                )
                found.normal_form = concept.code
        if not options.abstract_ok and view.is_abstract(concept):
            if including and not options.membership_only:
                found.add(
                    "error",
                    "business-rule",
                    add_path(path, "code"),
                    "ABSTRACT_CODE_NOT_ALLOWED",
                    messages.render("ABSTRACT_CODE_NOT_ALLOWED", view.url, code),
                    "code-rule",
                )
            return False
        inactive = view.is_inactive(concept)
        if inactive and (exclude_inactive or options.active_only):
            if including:
                text = messages.render("STATUS_CODE_WARNING_CODE", "not active", code)
                found.add(
                    "error",
                    "business-rule",
                    add_path(path, "code"),
                    "STATUS_CODE_WARNING_CODE",
                    text,
                    "code-rule",
                    message=True,
                )
                if not options.membership_only:
                    found.inactive, found.inactive_path, found.inactive_code = True, path, code
                    found.status = view.status(concept)
            return False
        if including:
            if ref is not None:
                status = standards_status(ref)
                if status in ("withdrawn", "deprecated") or has_extension(ref, EXT_VS_DEPRECATED):
                    text = messages.render(
                        "CONCEPT_DEPRECATED_IN_VALUESET", view.url, code, status or "deprecated", self.label
                    )
                    found.add(
                        "warning",
                        "business-rule",
                        add_path(path, "code"),
                        "CONCEPT_DEPRECATED_IN_VALUESET",
                        text,
                        "code-comment",
                    )
            found.see_concept(view, concept, path, code)
        return True
