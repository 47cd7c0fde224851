"""ValueSet expansion: compose include/exclude by concept, filter and value set import, to a flat or
hierarchical `expansion` (R5 shape: properties as expansion.property / contains.property).

Spec: http://hl7.org/fhir/R5/valueset-operation-expand.html and ValueSet.compose rules
(http://hl7.org/fhir/R5/valueset.html#compositions). Within one include, concept lists, filters and
imported value sets intersect; includes union; excludes subtract. The expansion echoes the
parameters that shaped it and names every code system (`used-codesystem`), value set
(`used-valueset`) and supplement (`used-supplement`) it drew on (`output.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from plugin.terminology.errors import TxError, circular_reference, supplements_missing, too_costly, tx_error
from plugin.terminology.expand.filters import admitted, text_in_subtree
from plugin.terminology.expand.output import Entry, ExpansionOutput, Run
from plugin.terminology.expand.paging import DEFAULT_LIMIT, Paging, resolve_paging
from plugin.terminology.expand.sources import (
    compose_by_version,
    include_filters,
    note_code_system,
    note_status,
    resolve_code_system,
)
from plugin.terminology.model import textsearch
from plugin.terminology.model.codesystem import CodeSystemView, Concept, primitive
from plugin.terminology.model.context import TxContext
from plugin.terminology.model.resources import newest_first, vurl, walk_contains


class Expander:
    """Expands one value set in one TxContext; nested imports use child expanders."""

    def __init__(
        self,
        ctx: TxContext,
        *,
        limit: int = DEFAULT_LIMIT,
        stack: tuple[str, ...] = (),
        paging: Paging | None = None,
    ) -> None:
        self.ctx = ctx
        self.options = ctx.options
        self.configured_limit = limit
        # Resolved in `expand` once the value set's own parameters apply; an import shares its parent's.
        self.paging = paging or resolve_paging(ctx.options, limit, check=False)
        self.stack = stack
        self.output = ExpansionOutput(ctx.options)
        self.entries: dict[tuple[str, str, str], Entry] = {}
        self.order: list[Entry] = []
        self.roots: list[Entry] = []
        # A large flat contribution is kept as one Run until another include needs it code by code:
        # an expansion of one big code system then renders its page without an Entry per code.
        self._run: Run | None = None
        self.excluded: set[tuple[str, str, str]] = set()
        self.excluded_systems: set[tuple[str, str]] = set()
        self.hierarchical = not self.options.exclude_nested
        self.doing_version = False
        # The value set being expanded: status warnings are judged against it (note_status).
        self.source: dict[str, Any] = {}

    # -- entry point ---------------------------------------------------------------------------
    def expand(self, value_set: dict[str, Any]) -> dict[str, Any]:
        """The value set with its `expansion` (only the requested page of codes is rendered)."""
        if not isinstance(value_set.get("compose"), dict) and isinstance(value_set.get("expansion"), dict):
            return value_set
        self.ctx.require_supplements_of(value_set)
        self.ctx.apply_value_set_parameters(value_set)
        self.paging = resolve_paging(self.options, self.configured_limit)
        self.collect(value_set)
        ordered: Sequence[Entry] = self.order if self._run is None else self._run
        roots: Sequence[Entry] = self.roots if self._run is None else self._run
        rules = self.ctx.used_rules
        return self.output.render(value_set, ordered, roots, self.hierarchical, rules, self.paging)

    def collect(self, value_set: dict[str, Any], *, top: bool = True) -> None:
        """Work out which codes the value set holds (`order`, `roots`) without rendering them."""
        key = vurl(value_set) or f"#{value_set.get('id', '')}"
        if key in self.stack:
            raise circular_reference(key, self.stack)
        self.stack = (*self.stack, key)
        if not self.source:
            self.source = value_set
        note_status(self.output, value_set, self.source)
        if not self.paging.keeps_hierarchy:
            self.hierarchical = False
        compose = value_set.get("compose")
        if isinstance(compose, dict):
            self._compose(value_set, compose)
        elif isinstance(value_set.get("expansion"), dict):
            self._take_expansion(value_set["expansion"])
        if top:
            missing = self.ctx.missing_supplements()
            if missing:
                raise supplements_missing(missing)

    def _take_expansion(self, expansion: dict[str, Any]) -> None:
        """An imported value set that carries only an expansion contributes its listed codes."""
        self._settle()
        for item in walk_contains(expansion.get("contains") or []):
            if item.get("system") and item.get("code") and not item.get("abstract"):
                key = self._key(item["system"], item.get("version") or "", item["code"])
                if key not in self.entries:
                    entry = Entry(key, item={k: v for k, v in item.items() if k != "contains"})
                    self.entries[key] = entry
                    self.order.append(entry)
                    self.roots.append(entry)
        self.hierarchical = False

    # -- compose -------------------------------------------------------------------------------
    def _compose(self, value_set: dict[str, Any], compose: dict[str, Any]) -> None:
        raw_includes = [i for i in compose.get("include") or [] if isinstance(i, dict)]
        includes, excludes, self.doing_version = compose_by_version(self.ctx, compose)
        exclude_inactive = compose.get("inactive") is False
        if raw_includes and any(
            i.get("valueSet") or i.get("concept") or len(i.get("filter") or []) > 1 for i in raw_includes
        ):
            self.hierarchical = False
        for item, index in excludes:
            self._exclude(value_set, item, f"ValueSet.compose.exclude[{index}]")
        position = {id(item): index for item, index in includes}
        for item in newest_first([item for item, _ in includes]):
            where = f"ValueSet.compose.include[{position[id(item)]}]"
            self._include(value_set, item, where, exclude_inactive)

    def _import(self, value_set: dict[str, Any], references: list[Any]) -> list[Expander]:
        """Collect each referenced value set's codes; returns their expanders (for intersection)."""
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
            child = Expander(self.ctx, limit=self.configured_limit, stack=self.stack, paging=self.paging)
            child.options = self.options
            child.source = self.source
            child.collect(target, top=False)
            child._settle()
            if not reference.startswith("#"):
                self.output.param("used-valueset", "Uri", vurl(target))
            for param in child.output.params:
                if param["name"] in ("used-codesystem", "used-valueset", "used-supplement") or param[
                    "name"
                ].startswith("warning-"):
                    self.output.param(param["name"], "Uri", primitive(param))
            out.append(child)
        return out

    def _include(
        self, value_set: dict[str, Any], item: dict[str, Any], path: str, exclude_inactive: bool
    ) -> None:
        self._settle()
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
        view = resolve_code_system(self.ctx, self.output, system, item.get("version"))
        note_code_system(self.output, view, self.source)
        self.ctx.require_supplements_of({})
        filters = include_filters(view, item, path)
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
        if text and not item.get("concept") and not filters:
            self.output.total_known = False  # a search of a whole code system
        index = view.text_index() if text else None
        text_hits = (
            index.search(text) if index is not None and text and filters and item.get("concept") else None
        )
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
        plain = not (exclude_inactive or self.options.active_only or self.options.exclude_not_for_ui)
        plain = plain and not import_keys
        if filters:
            # An is-a filter and a text filter, when the view answers both at once (no subtree walk).
            chosen = text_in_subtree(view, filters, text) if index is not None and text and plain else None
            if chosen is None:
                chosen = admitted(view, filters, index, text, admissible)
            if not self.hierarchical or self.paging.cuts(len(chosen)):
                self._add_all(view, chosen, version, value_set)  # type: ignore[arg-type]  # a flat page
                return
            for concept in chosen:
                parent = None
                if concept.parents:
                    parent = self.entries.get(self._key(system, version, concept.parents[0]))
                self._add(view, concept, version, parent, None, value_set)
            return
        if index is not None and text:
            found = index.matching(text)
            self._add_all(view, found if plain else [c for c in found if admissible(c)], version, value_set)
            self.hierarchical = False
            return
        if not view.has_hierarchy:
            everything = list(view) if plain else [c for c in view if admissible(c)]
            self._add_all(view, everything, version, value_set)
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
        view = resolve_code_system(self.ctx, self.output, system, item.get("version"))
        note_code_system(self.output, view, self.source)
        version = view.version or ""
        if not item.get("concept") and not item.get("filter") and not imports:
            self.excluded_systems.add((system, version if self.doing_version else ""))
            return
        filters = include_filters(view, item, path)
        if item.get("concept"):
            candidates = [view.locate(r.get("code")) for r in item["concept"] if isinstance(r, dict)]
        else:
            candidates = list(view)
        for concept in candidates:
            if concept is None or not all(f.matches(concept) for f in filters):
                continue
            if all((system, concept.code) in keys for keys in import_keys):
                self.excluded.add(self._key(system, version, concept.code))

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
        if len(self.order) >= self.paging.limit:
            raise self._too_costly(value_set)
        entry = Entry(key, view, concept, ref, value_set, self.doing_version)
        self.entries[key] = entry
        self.order.append(entry)
        if parent is not None:
            parent.children.append(entry)
        else:
            self.roots.append(entry)
        return entry

    def _add_all(
        self,
        view: CodeSystemView,
        concepts: list[Concept],
        version: str,
        value_set: dict[str, Any],
        *,
        lazy: bool = True,
    ) -> None:
        """`_add` for many top-level codes of one code system at once (large flat expansions)."""
        url = view.url
        doing = self.doing_version
        vkey = version if doing else ""
        if (url, "") in self.excluded_systems or (url, vkey) in self.excluded_systems:
            return
        if len(concepts) > self.paging.limit:
            raise self._too_costly(value_set)
        if lazy and not self.order and self._run is None and not self.excluded:
            self._run = Run(view, concepts, vkey, value_set, doing)
            return
        self._settle()
        entries, excluded, order, roots = self.entries, self.excluded, self.order, self.roots
        for concept in concepts:
            key = (url, vkey, concept.code)
            if key in entries:
                self.hierarchical = False
                continue
            if key in excluded:
                continue
            entry = Entry(key, view, concept, None, value_set, doing)
            entries[key] = entry
            order.append(entry)
            roots.append(entry)
            if len(order) > self.paging.limit:
                raise self._too_costly(value_set)

    def _settle(self) -> None:
        """Turn a pending Run into entries, before anything else is added or looked up."""
        run, self._run = self._run, None
        if run is not None:
            self._add_all(run.view, run.concepts, run.key_version, run.value_set, lazy=False)

    def _add_imported(self, source: Entry) -> None:
        key = source.key
        if key in self.entries:
            return
        if len(self.order) >= self.paging.limit:
            raise self._too_costly({})
        entry = source.copy()
        self.entries[key] = entry
        self.order.append(entry)
        self.roots.append(entry)
        self.hierarchical = False

    def _too_costly(self, value_set: dict[str, Any]) -> TxError:
        return too_costly(vurl(value_set) or (self.stack[0] if self.stack else ""), self.paging.limit)


# (system, code) of an entry key (system, version, code): what two versions of one code share.
_system_code = itemgetter(0, 2)


def expand(ctx: TxContext, value_set: dict[str, Any], limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    return Expander(ctx, limit=limit).expand(value_set)


def codes(ctx: TxContext, value_set: dict[str, Any]) -> list[tuple[str, str]]:
    """(system, code) of every code in the value set, in expansion order, without rendering."""
    expander = Expander(ctx)
    expander.collect(value_set, top=False)
    expander._settle()
    return [(entry.key[0], entry.key[2]) for entry in expander.order]
