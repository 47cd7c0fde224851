"""The `$lookup` answer for one concept: name, version, display in the working language, definition,
designations, properties, parent and child. Shared by plain codes and CPT expressions (cpt.lookup),
so it sits below both."""

from __future__ import annotations

from plugin.terminology.model import designations as ds
from plugin.terminology.model.codesystem import PREFERRED_FOR_LANGUAGE, CodeSystemView, Concept
from plugin.terminology.model.context import TxContext
from plugin.terminology.model.parameters import ParametersBuilder, part


def describe(ctx: TxContext, view: CodeSystemView, concept: Concept) -> ParametersBuilder:
    wanted = [p.lower() for p in ctx.options.properties]

    def want(name: str) -> bool:
        return not wanted or "*" in wanted or name.lower() in wanted

    out = ParametersBuilder()
    out.add("code", "Code", concept.code)
    out.add("system", "Uri", view.url)
    out.add("name", "String", view.resource.get("name") or view.resource.get("title") or view.url)
    out.add("version", "String", view.version)
    chosen = ds.preferred(concept.designations, ctx.options.working_languages())
    out.add("display", "String", chosen.value if chosen else (concept.display or concept.code))
    if concept.definition and want("definition"):
        out.add("definition", "String", concept.definition)
    if want("abstract"):
        out.add("abstract", "Boolean", view.is_abstract(concept))
    if want("inactive"):
        out.add_parts(
            "property",
            [part("code", "Code", "inactive"), part("value", "Boolean", view.is_inactive(concept))],
        )
    used: list[str] = []
    if want("designation"):
        for d in concept.designations:
            parts = []
            if d.language:
                parts.append(part("language", "Code", d.language))
            if d.is_display:
                parts.append(part("use", "Coding", dict(PREFERRED_FOR_LANGUAGE)))
            elif d.use:
                parts.append(part("use", "Coding", d.use))
            if d.source:
                parts.append(part("source", "Canonical", d.source))
                if d.source not in used:
                    used.append(d.source)
            parts.append(part("value", "String", d.value))
            out.add_parts("designation", parts)
    for prop in concept.properties:
        name = prop.get("code")
        if not isinstance(name, str) or not (
            not wanted or "*" in wanted or name.lower() in wanted or (wanted and "property" in wanted)
        ):
            continue
        value = [(k, v) for k, v in prop.items() if k.startswith("value") and len(k) > 5]
        if value:
            out.add_parts(
                "property", [part("code", "Code", name), {"name": "value", value[0][0]: value[0][1]}]
            )
    if want("parent"):
        for parent in concept.parents:
            parts = [part("code", "Code", "parent"), part("value", "Code", parent)]
            target = view.concepts.get(parent)
            if target is not None and target.display:
                parts.append(part("description", "String", target.display))
            out.add_parts("property", parts)
    if want("child"):
        for child in concept.children:
            parts = [part("code", "Code", "child"), part("value", "Code", child)]
            target = view.concepts.get(child)
            if target is not None and target.display:
                parts.append(part("description", "String", target.display))
            out.add_parts("property", parts)
    for source in used:
        out.add("used-supplement", "Canonical", source)
    return out
