"""ValueSet expansion: compose include/exclude by concept, filter and value set import, to a flat or
hierarchical `expansion` (R5 shape: properties as expansion.property / contains.property).

Spec: http://hl7.org/fhir/R5/valueset-operation-expand.html and ValueSet.compose rules
(http://hl7.org/fhir/R5/valueset.html#compositions). Within one include, concept lists, filters and
imported value sets intersect; includes union; excludes subtract. The expansion echoes the
parameters that shaped it and names every code system (`used-codesystem`), value set
(`used-valueset`) and supplement (`used-supplement`) it drew on (`expansion_output.py`).
"""

from __future__ import annotations

from typing import Any

from plugin.terminology import messages, textsearch, versioning
from plugin.terminology.codesystem import CodeSystemView, Concept, primitive
from plugin.terminology.context import TxContext, TxError, tx_error
from plugin.terminology.expansion_output import Entry, ExpansionOutput
from plugin.terminology.filters import UnknownFilterError, UnsafePatternError, compile_filter
from plugin.terminology.resources import newest_first, standards_status, vurl

DEFAULT_LIMIT = 10_000


class Expander:
    """Expands one value set in one TxContext; nested imports use child expanders."""

    def __init__(self, ctx: TxContext, *, limit: int = DEFAULT_LIMIT, stack: tuple[str, ...] = ()) -> None:
        self.ctx = ctx
        self.options = ctx.options
        self.limit = limit
        self.stack = stack
        self.output = ExpansionOutput(ctx.options)
        self.entries: dict[tuple[str, str, str], Entry] = {}
        self.order: list[Entry] = []
        self.roots: list[Entry] = []
        self.excluded: set[tuple[str, str, str]] = set()
        self.excluded_systems: set[tuple[str, str]] = set()
        self.hierarchical = not self.options.exclude_nested
        self.doing_version = False

    # -- entry point ---------------------------------------------------------------------------
    def expand(self, value_set: dict[str, Any], *, top: bool = True) -> dict[str, Any]:
        ctx = self.ctx
        key = vurl(value_set) or f"#{value_set.get('id', '')}"
        if key in self.stack:
            pathway = ", ".join(self.stack)
            raise TxError(
                400,
                "VALUESET_CIRCULAR_REFERENCE",
                messages.render("VALUESET_CIRCULAR_REFERENCE", key, f"[{pathway}]"),
                code="processing",
                tx_type="vs-invalid",
            )
        self.stack = (*self.stack, key)
        if top:
            ctx.require_supplements_of(value_set)
            ctx.apply_value_set_parameters(value_set)
        if self.options.offset > 0:
            self.hierarchical = False
        compose = value_set.get("compose")
        if isinstance(compose, dict):
            self._compose(value_set, compose)
        elif isinstance(value_set.get("expansion"), dict):
            return value_set
        if top:
            missing = ctx.missing_supplements()
            if missing:
                raise TxError(
                    422,
                    "VALUESET_SUPPLEMENT_MISSING",
                    messages.plural(
                        len(missing), "VALUESET_SUPPLEMENT_MISSING", len(missing), ",".join(missing)
                    ),
                    code="not-found",
                    tx_type="not-found",
                )
        return self.output.render(
            value_set,
            self.order,
            self.roots,
            top=top,
            hierarchical=self.hierarchical,
            used_rules=self.ctx.used_rules,
        )

    # -- compose -------------------------------------------------------------------------------
    def _compose(self, value_set: dict[str, Any], compose: dict[str, Any]) -> None:
        includes = [i for i in compose.get("include") or [] if isinstance(i, dict)]
        excludes = [e for e in compose.get("exclude") or [] if isinstance(e, dict)]
        seen_versions: dict[str, set[str | None]] = {}
        for item in includes + excludes:
            if item.get("system"):
                seen_versions.setdefault(item["system"], set()).add(item.get("version"))
        self.doing_version = any(len(v) > 1 for v in seen_versions.values())
        exclude_inactive = compose.get("inactive") is False
        if includes and any(
            i.get("valueSet") or i.get("concept") or len(i.get("filter") or []) > 1 for i in includes
        ):
            self.hierarchical = False
        for index, item in enumerate(excludes):
            self._exclude(value_set, item, f"ValueSet.compose.exclude[{index}]")
        position = {id(item): index for index, item in enumerate(includes)}
        for item in newest_first(includes):
            where = f"ValueSet.compose.include[{position[id(item)]}]"
            self._include(value_set, item, where, exclude_inactive)

    def _import(self, value_set: dict[str, Any], references: list[Any]) -> list[set[tuple[str, str, str]]]:
        """Expand each referenced value set; returns their code keys (for intersection)."""
        out = []
        for reference in references:
            if not isinstance(reference, str):
                continue
            target = self.ctx.value_set(reference, source=value_set)
            if target is None:
                url, _, version = reference.partition("|")
                version = version or self.ctx.determine_version(url, None, valueset=True) or ""
                if version:
                    raise tx_error(
                        422, "VS_EXP_IMPORT_UNK_PINNED", url, version, code="not-found", tx_type="not-found"
                    )
                raise tx_error(422, "VS_EXP_IMPORT_UNK", url, code="not-found", tx_type="not-found")
            child = Expander(self.ctx, limit=self.limit, stack=self.stack)
            child.options = self.options
            expanded = child.expand(target, top=False)
            if not reference.startswith("#"):
                self.output.param("used-valueset", "Uri", vurl(target))
            for param in expanded.get("expansion", {}).get("parameter", []):
                if param.get("name") in ("used-codesystem", "used-valueset", "used-supplement"):
                    self.output.param(param["name"], "Uri", primitive(param))
            for prop in expanded.get("expansion", {}).get("property", []):
                self.output.declare(prop.get("code"), prop.get("uri"))
            out.append(child)
        return out

    def _include(
        self, value_set: dict[str, Any], item: dict[str, Any], path: str, exclude_inactive: bool
    ) -> None:
        imports = self._import(value_set, item.get("valueSet") or [])
        import_keys = [{_system_code(k) for k in child.entries} for child in imports]
        system = item.get("system")
        if not system:
            if not imports:
                return
            for entry in imports[0].order:
                sc = _system_code(entry.key)
                if all(sc in keys for keys in import_keys[1:]) and not self._is_excluded(entry.key):
                    self._add_imported(entry)
            return
        view = self._code_system(system, item.get("version"))
        self._used_code_system(view)
        self.ctx.require_supplements_of({})
        filters = self._filters(view, item, path)
        version = view.version or ""

        def admissible(concept: Concept) -> bool:
            if exclude_inactive and view.is_inactive(concept):
                return False
            if self.options.active_only and view.is_inactive(concept):
                return False
            if self.options.exclude_not_for_ui and view.is_abstract(concept):
                return False
            if not all(f.matches(concept) for f in filters):
                return False
            return all((system, concept.code) in keys for keys in import_keys)

        text = self.options.filter
        text_hits = view.text_index().search(text) if text else None
        if item.get("concept"):
            for ref in item["concept"]:
                if not isinstance(ref, dict):
                    continue
                concept = view.locate(ref.get("code"))
                if concept is None or not admissible(concept):
                    continue
                if text and not self._text_matches(view, concept, ref, text_hits):
                    continue
                self._add(view, concept, version, None, ref, value_set)
            return
        if filters:
            candidates = filters[0].candidates
            codes = candidates() if candidates else [c.code for c in view]
            for code in codes:
                concept = view.locate(code)
                if concept is None or not admissible(concept):
                    continue
                if text_hits is not None and concept.code not in text_hits:
                    continue
                parent = None
                if self.hierarchical and concept.parents:
                    parent = self.entries.get(self._key(system, version, concept.parents[0]))
                self._add(view, concept, version, parent, None, value_set)
            return
        if text_hits is not None:
            for concept in view:
                if concept.code in text_hits and admissible(concept):
                    self._add(view, concept, version, None, None, value_set)
            self.hierarchical = False
            return
        visited: set[str] = set()
        for root in view.roots:
            self._add_tree(view, view.concepts[root], version, None, value_set, admissible, visited)

    def _add_tree(self, view, concept, version, parent, value_set, admissible, visited) -> None:  # type: ignore[no-untyped-def]
        stack = [(concept, parent)]
        while stack:
            current, parent_entry = stack.pop()
            if current.code in visited:
                self.hierarchical = False
                continue
            visited.add(current.code)
            entry = parent_entry
            if admissible(current):
                added = self._add(view, current, version, parent_entry, None, value_set)
                entry = added if added is not None else parent_entry
            stack.extend((view.concepts[child], entry) for child in reversed(current.children))

    def _filters(self, view: CodeSystemView, item: dict[str, Any], path: str) -> list[Any]:
        out = []
        for index, raw in enumerate(item.get("filter") or []):
            if not isinstance(raw, dict):
                continue
            prop, op, value = raw.get("property"), raw.get("op"), raw.get("value")
            where = f"{path}.filter[{index}]"
            if value is None or value == "":
                raise tx_error(
                    400,
                    "UNABLE_TO_HANDLE_SYSTEM_FILTER_WITH_NO_VALUE",
                    view.url,
                    prop,
                    op,
                    code="invalid",
                    tx_type="vs-invalid",
                    expression=where,
                )
            try:
                out.append(compile_filter(view, str(prop), str(op), str(value)))
            except UnsafePatternError as exc:
                raise TxError(
                    422,
                    None,
                    f"The regex filter on {view.url} cannot be used: {exc}",
                    code="too-costly",
                    tx_type="vs-invalid",
                    expression=where,
                ) from exc
            except UnknownFilterError as exc:
                raise tx_error(
                    400,
                    "FILTER_NOT_UNDERSTOOD",
                    prop,
                    op,
                    value,
                    "",
                    view.url,
                    code="not-supported",
                    tx_type="vs-invalid",
                    expression=where,
                ) from exc
        return out

    def _exclude(self, value_set: dict[str, Any], item: dict[str, Any], path: str) -> None:
        imports = self._import(value_set, item.get("valueSet") or [])
        import_keys = [{_system_code(k) for k in child.entries} for child in imports]
        system = item.get("system")
        if not system:
            if imports:
                for key in imports[0].entries:
                    if all(_system_code(key) in keys for keys in import_keys[1:]):
                        self.excluded.add(key)
            return
        view = self._code_system(system, item.get("version"))
        self._used_code_system(view)
        version = view.version or ""
        if not item.get("concept") and not item.get("filter") and not imports:
            self.excluded_systems.add((system, version if self.doing_version else ""))
            return
        filters = self._filters(view, item, path)
        if item.get("concept"):
            candidates = [view.locate(r.get("code")) for r in item["concept"] if isinstance(r, dict)]
        else:
            candidates = list(view)
        for concept in candidates:
            if concept is None or not all(f.matches(concept) for f in filters):
                continue
            if all((system, concept.code) in keys for keys in import_keys):
                self.excluded.add(self._key(system, version, concept.code))

    # -- code systems ----------------------------------------------------------------------------
    def _code_system(self, system: str, version: str | None) -> CodeSystemView:
        ctx = self.ctx
        resolved = ctx.determine_version(system, version)
        view = ctx.code_system(system, resolved, rules=False)
        if view is None:
            supplement = ctx.supplement_resource(system, resolved)
            if supplement is not None:
                raise tx_error(
                    400,
                    "CODESYSTEM_CS_NO_SUPPLEMENT",
                    vurl(supplement),
                    code="invalid",
                    tx_type="invalid-data",
                )
            if not resolved:
                raise tx_error(
                    422,
                    "UNKNOWN_CODESYSTEM_EXP",
                    system,
                    code="not-found",
                    tx_type="not-found",
                    unknown_system=system,
                )
            known = ctx.code_system_versions(system)
            if known:
                raise tx_error(
                    422,
                    "UNKNOWN_CODESYSTEM_VERSION_EXP",
                    system,
                    resolved,
                    versioning.present_versions(known),
                    code="not-found",
                    tx_type="not-found",
                    unknown_system=f"{system}|{resolved}",
                )
            raise tx_error(
                422,
                "UNKNOWN_CODESYSTEM_VERSION_EXP_NONE",
                system,
                resolved,
                code="not-found",
                tx_type="not-found",
                unknown_system=f"{system}|{resolved}",
            )
        failure = ctx.version_check_failure(system, view.version)
        if failure is not None:
            raise failure
        if view.content == "not-present":
            raise TxError(
                422,
                None,
                messages.render("EXPANSION_CS_NOT_PRESENT", system),
                code="business-rule",
                tx_type="invalid",
            )
        if view.content in ("fragment", "example"):
            self.output.param("used-fragment", "Uri", view.canonical)
            reason = messages.render("EXPANSION_UNCLOSED_FRAGMENT", system)
            if reason not in self.output.unclosed:
                self.output.unclosed.append(reason)
        return view

    def _used_code_system(self, view: CodeSystemView) -> None:
        self.output.param("used-codesystem", "Uri", view.canonical)
        self._status_warnings(view.resource)

    def _status_warnings(self, resource: dict[str, Any]) -> None:
        status = resource.get("status")
        standards = standards_status(resource)
        if standards in ("deprecated", "withdrawn"):
            self.output.param(f"warning-{standards}", "Uri", vurl(resource))
        elif status == "retired":
            self.output.param("warning-retired", "Uri", vurl(resource))

    # -- building --------------------------------------------------------------------------------
    def _key(self, system: str, version: str, code: str) -> tuple[str, str, str]:
        return (system, version if self.doing_version else "", code)

    def _is_excluded(self, key: tuple[str, str, str]) -> bool:
        system, version, _ = key
        return (
            key in self.excluded
            or (system, "") in self.excluded_systems
            or (system, version) in self.excluded_systems
        )

    def _text_matches(self, view, concept, ref, hits) -> bool:  # type: ignore[no-untyped-def]
        if hits is not None and concept.code in hits:
            return True
        texts = [d.value for d in concept.designations]
        if ref and ref.get("display"):
            texts.append(ref["display"])
        return textsearch.matches(self.options.filter or "", texts) or concept.code == self.options.filter

    def _add(
        self,
        view: CodeSystemView,
        concept: Concept,
        version: str,
        parent: Entry | None,
        ref: dict[str, Any] | None,
        value_set: dict[str, Any],
    ) -> Entry | None:
        key = self._key(view.url, version, concept.code)
        if self._is_excluded(key):
            return None
        if key in self.entries:
            self.hierarchical = False
            return None
        if len(self.order) >= self.limit:
            raise self._too_costly(value_set)
        item = self.output.item(view, concept, ref, value_set, with_version=self.doing_version)
        entry = Entry(key, item)
        self.entries[key] = entry
        self.order.append(entry)
        if parent is not None:
            parent.children.append(entry)
        else:
            self.roots.append(entry)
        return entry

    def _add_imported(self, source: Entry) -> None:
        key = source.key
        if key in self.entries:
            return
        if len(self.order) >= self.limit:
            raise self._too_costly({})
        item = {k: v for k, v in source.item.items() if k != "contains"}
        entry = Entry(key, item)
        self.entries[key] = entry
        self.order.append(entry)
        self.roots.append(entry)
        self.hierarchical = False

    def _too_costly(self, value_set: dict[str, Any]) -> TxError:
        url = vurl(value_set) or (self.stack[0] if self.stack else "")
        return TxError(
            422,
            "VALUESET_TOO_COSTLY",
            messages.render("VALUESET_TOO_COSTLY", url, f">{self.limit}"),
            code="too-costly",
            tx_type=None,
        )

    # -- result ----------------------------------------------------------------------------------


def _system_code(key: tuple[str, str, str]) -> tuple[str, str]:
    return (key[0], key[2])


def expand(ctx: TxContext, value_set: dict[str, Any], limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    return Expander(ctx, limit=limit).expand(value_set)
