"""CPT expressions: a base code with modifiers appended after `:` (`33952:62`, `33952:62:LT`).

Per HL7 Terminology's CPT page (https://terminology.hl7.org/CPT.html, "Modifier Syntax"), the base
code comes first and the modifiers follow in any order, each after `:`; `-` and `.` separators
are not conformant. Each modifier must be a CPT modifier (property `modifier` = true) or an HCPCS
Level II modifier. Whether a modifier may be used with a base code is taken from any loaded
ConceptMap into `https://fhir.cpt-plugin.org/CodeSystem/modifier-applicability` whose target
`dependsOn` names the base code (attribute `...modifier-applicability#base-code`); the map's
comment gives the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from plugin.terminology import messages
from plugin.terminology.convert import conceptmap_to_r5
from plugin.terminology.model.codesystem import CodeSystemView, Concept, primitive

CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
APPLICABILITY = "https://fhir.cpt-plugin.org/CodeSystem/modifier-applicability"
BASE_CODE = APPLICABILITY + "#base-code"
_BASE = re.compile(r"^[0-9A-Z]{4}[0-9A-Z]$")
_MODIFIER = re.compile(r"^[0-9A-Z]{2}$")
_OTHER_SEPARATOR = re.compile(r"^[0-9A-Z]{5}([-.])[0-9A-Z]{2}")
# applicability code -> (severity, message id, result stays true?)
OUTCOMES = {
    "not-applicable": ("error", "CPT_MOD_NOT_APPLICABLE"),
    # 25 and FT belong on the same-day E/M line; on the procedure line they are a coding error.
    "other-line": ("error", "CPT_MOD_OTHER_LINE"),
    "clinically-inconsistent": ("error", "CPT_MOD_CLINICALLY_INCONSISTENT"),
    "not-paid-medicare": ("warning", "CPT_MOD_NOT_PAID_MEDICARE"),
    "documentation-required": ("information", "CPT_MOD_DOCUMENTATION_REQUIRED"),
    "ncci-bypass-only": ("warning", "CPT_MOD_NCCI_BYPASS_ONLY"),
}


@dataclass
class Finding:
    severity: str
    message_id: str
    text: str
    tx_type: str = "invalid-code"
    code: str = "code-invalid"


@dataclass
class Evaluation:
    """The outcome of checking one expression; `base` is None when it has no usable base code."""

    expression: str
    base: Concept | None = None
    modifiers: list[tuple[str, str, Concept]] = field(default_factory=list)  # (code, system, concept)
    findings: list[Finding] = field(default_factory=list)
    applicability: list[tuple[str, str, str]] = field(default_factory=list)  # (modifier, status, reason)

    @property
    def valid(self) -> bool:
        return self.base is not None and not any(f.severity == "error" for f in self.findings)


def is_expression(system: str | None, code: str | None) -> bool:
    return system == CPT and bool(code) and (":" in code or bool(_OTHER_SEPARATOR.match(code or "")))


def is_postcoordinated(view: CodeSystemView, code: str) -> bool:
    return view.url == CPT and view.locate(code) is None and is_expression(CPT, code)


def is_modifier(view: CodeSystemView, concept: Concept) -> bool:
    for prop in concept.properties:
        if prop.get("code") == "modifier" and primitive(prop) in (True, "true"):
            return True
    return False


def evaluate(ctx: Any, view: CodeSystemView, expression: str) -> Evaluation:
    result = Evaluation(expression)
    text = expression.strip()
    if not text:
        result.findings.append(Finding("error", "CPT_EXPR_EMPTY", messages.render("CPT_EXPR_EMPTY")))
        return result
    separator = _OTHER_SEPARATOR.match(text)
    if separator and ":" not in text:
        result.findings.append(
            Finding(
                "error", "CPT_EXPR_SEPARATOR", messages.render("CPT_EXPR_SEPARATOR", text, separator.group(1))
            )
        )
        return result
    parts = text.split(":")
    if any(not p for p in parts):
        result.findings.append(
            Finding("error", "CPT_EXPR_EMPTY_PART", messages.render("CPT_EXPR_EMPTY_PART", text))
        )
        return result
    for part in parts:
        if not (_BASE.match(part) or _MODIFIER.match(part)):
            result.findings.append(
                Finding("error", "CPT_EXPR_BAD_PART", messages.render("CPT_EXPR_BAD_PART", text, part))
            )
            return result
    base_code, modifier_codes = parts[0], parts[1:]
    base = view.locate(base_code)
    if base is None:
        result.findings.append(
            Finding(
                "error",
                "CPT_EXPR_BASE_UNKNOWN",
                messages.render("CPT_EXPR_BASE_UNKNOWN", base_code, view.url, view.version or "", text),
            )
        )
        return result
    if is_modifier(view, base) or _MODIFIER.match(base_code):
        result.findings.append(
            Finding(
                "error", "CPT_EXPR_BASE_IS_MODIFIER", messages.render("CPT_EXPR_BASE_IS_MODIFIER", base_code)
            )
        )
        return result
    result.base = base
    hcpcs = ctx.code_system(HCPCS) if ctx is not None else None
    seen: set[str] = set()
    for code in modifier_codes:
        if code in seen:
            result.findings.append(
                Finding(
                    "error",
                    "CPT_EXPR_MODIFIER_REPEATED",
                    messages.render("CPT_EXPR_MODIFIER_REPEATED", code, text),
                )
            )
            continue
        seen.add(code)
        concept = view.locate(code)
        if concept is not None and is_modifier(view, concept):
            result.modifiers.append((code, CPT, concept))
            continue
        found = hcpcs.locate(code) if hcpcs is not None and _MODIFIER.match(code) else None
        if found is not None:
            result.modifiers.append((code, HCPCS, found))
            continue
        result.findings.append(
            Finding("error", "CPT_EXPR_NOT_MODIFIER", messages.render("CPT_EXPR_NOT_MODIFIER", code))
        )
    if ctx is not None:
        for code, _system, _concept in result.modifiers:
            for status, reason in applicability(ctx, base.code, code):
                result.applicability.append((code, status, reason))
                severity, message_id = OUTCOMES.get(status, ("information", "CPT_MOD_OTHER"))
                text_out = messages.render(message_id, code, base.code, reason or status, status)
                result.findings.append(
                    Finding(severity, message_id, text_out, tx_type="code-rule", code="business-rule")
                )
    return result


def applicability(ctx: Any, base_code: str, modifier: str) -> list[tuple[str, str]]:
    """(status, reason) for a modifier on a base code, from every loaded applicability map."""
    out: list[tuple[str, str]] = []
    for concept_map in ctx.registry.every("ConceptMap"):
        r5 = ctx.registry.cached(
            ("cm-r5", id(concept_map)), [concept_map], lambda m=concept_map: conceptmap_to_r5(m)
        )
        for group in r5.get("group") or []:
            if str(group.get("target", "")).partition("|")[0] != APPLICABILITY:
                continue
            if str(group.get("source", "")).partition("|")[0] not in (CPT, HCPCS, ""):
                continue
            for element in group.get("element") or []:
                if element.get("code") != modifier:
                    continue
                for target in element.get("target") or []:
                    if _names_base(target, base_code) and target.get("code"):
                        reason = target.get("comment") or ""
                        if (target["code"], reason) not in out:
                            out.append((target["code"], reason))
    return out


def _names_base(target: dict[str, Any], base_code: str) -> bool:
    for dependency in target.get("dependsOn") or []:
        if dependency.get("attribute") != BASE_CODE:
            continue
        value = next((v for k, v in dependency.items() if k.startswith("value")), None)
        if isinstance(value, dict):
            value = value.get("code")
        if value == base_code:
            return True
    return False


def lookup(ctx: Any, view: CodeSystemView, expression: str) -> dict[str, Any]:
    """$lookup of an expression: the base concept, then the modifiers and what applies to them."""
    from plugin.operation_outcome import tx_issue
    from plugin.terminology.model.context import TxError
    from plugin.terminology.model.lookup_result import describe
    from plugin.terminology.model.parameters import part

    evaluation = evaluate(ctx, view, expression)
    errors = [f for f in evaluation.findings if f.severity == "error"]
    if evaluation.base is None or errors:
        first = errors[0]
        error = TxError(
            404 if first.message_id == "CPT_EXPR_BASE_UNKNOWN" else 400,
            first.message_id,
            first.text,
            code="not-found" if first.message_id == "CPT_EXPR_BASE_UNKNOWN" else "invalid",
            tx_type="invalid-code",
            expression="code",
        )
        error.issues.extend(
            tx_issue("error", "invalid", "invalid-code", f.text, message_id=f.message_id, expression="code")
            for f in errors[1:]
        )
        raise error
    out = describe(ctx, view, evaluation.base)
    for param in out.parameters:
        if param["name"] == "code":
            param["valueCode"] = expression
    out.add_parts("property", [part("code", "Code", "modified"), part("value", "Boolean", True)])
    for code, system, concept in evaluation.modifiers:
        parts = [part("code", "Code", "modifier"), part("value", "Coding", {"system": system, "code": code})]
        if concept.display:
            parts.append(part("description", "String", concept.display))
        out.add_parts("property", parts)
    for code, status, reason in evaluation.applicability:
        parts = [
            part("code", "Code", "modifier-applicability"),
            part("value", "Coding", {"system": APPLICABILITY, "code": status}),
        ]
        parts.append(part("description", "String", f"{code}: {reason}" if reason else code))
        out.add_parts("property", parts)
    return out.build()


def expression_for(
    ctx: Any, found: Any, system: str | None, version: str | None, code: str, path: str
) -> Evaluation | None:
    """Evaluate a CPT expression during $validate-code and record its findings; None if `code` is
    an ordinary code (or not CPT)."""
    from plugin.terminology.model.resources import add_path

    if not is_expression(system, code):
        return None
    view = ctx.code_system(system, version)
    if view is None or view.locate(code) is not None:
        return None
    evaluation = evaluate(ctx, view, code)
    for finding in evaluation.findings:
        found.add(
            finding.severity,
            finding.code,
            add_path(path, "code"),
            finding.message_id,
            finding.text,
            finding.tx_type,
            message=finding.severity in ("error", "warning"),
        )
    return evaluation


def value_set_allows_expressions(compose: dict[str, Any] | None, system: str | None) -> bool:
    """An expression is a member when its base code is, unless every include of the system says
    `modified = false` (HL7's cpt-base pattern)."""
    includes = [
        i for i in (compose or {}).get("include") or [] if isinstance(i, dict) and i.get("system") == system
    ]
    if not includes:
        return True
    for item in includes:
        if not any(
            isinstance(f, dict) and f.get("property") == "modified" and str(f.get("value")).lower() == "false"
            for f in item.get("filter") or []
        ):
            return True
    return False
