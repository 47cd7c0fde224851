"""Is the display a client sent one of the concept's displays, in the languages asked for?

Wrong displays are errors (warnings with `lenient-display-validation`); a display in another
language than the ones asked for is reported as such; a display that was right once but is now
withdrawn gets a warning. Texts come from the Display_Name... / NO_VALID_DISPLAY... catalog entries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plugin.terminology import messages
from plugin.terminology.model import designations as ds
from plugin.terminology.model.codesystem import Designation
from plugin.terminology.model.resources import add_path
from plugin.terminology.validate.findings import Findings

WRONG = "Display_Name_for__should_be_one_of__instead_of"
WRONG_WHITESPACE = "Display_Name_WS_for__should_be_one_of__instead_of"


def _wrong_display_text(
    base_id: str, count: int, system: str, code: str, valid: str, display: str, summary: str
) -> str:
    if count == 1:
        return messages.render(f"{base_id}_one", "", system, code, valid, display, summary)
    return messages.render(f"{base_id}_other", count, system, code, valid, display, summary)


def check_member_display(
    options: Any, found: Findings, coding: dict[str, Any], path: str, note: Callable[[str], None]
) -> None:
    """The display of a coding that is in the value set."""
    languages = options.working_languages()
    display = coding["display"]
    items: list[Designation] = found.designations
    base = found.default_language
    matched, difference = ds.has_display(items, languages, None, display, base=base)
    severity = "warning" if options.display_warning else "error"
    system, code = coding.get("system") or found.implied_system or "", coding.get("code") or ""
    where = add_path(path, "display")
    if not matched:
        base_id = WRONG_WHITESPACE if difference == "normalized" else WRONG
        message_id = base_id
        count = ds.display_count(items, languages, base=base)
        if count == 0:
            severity = "warning"
            count = ds.display_count(items, languages, displays_only=False, base=base)
        if count == 0:
            default = ds.preferred(items, None)
            if default is None:
                message_id = "NO_VALID_DISPLAY_AT_ALL"
                text = messages.render(message_id, display, system, code, options.lang_summary())
            else:
                in_default_language, _ = ds.has_display(items, languages, base or "en", display, base=base)
                if in_default_language:
                    message_id, severity, shown = (
                        "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_OK",
                        "information",
                        display,
                    )
                else:
                    message_id, shown = "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_ERR", default.value
                    severity = "warning" if options.display_warning else "error"
                text = messages.render(message_id, display, system, code, options.lang_summary(), shown)
        else:
            valid = ds.present(items, languages, base=base)
            text = _wrong_display_text(base_id, count, system, code, valid, display, options.lang_summary())
        note(text)
        found.add(severity, "invalid", where, message_id, text, "invalid-display")
        return
    active_ok, _ = ds.has_display(items, languages, None, display, active_only=True, base=base)
    if not active_ok:
        allowed: list[str] = []
        for d in items:
            if d.active and d.preferred and d.value not in allowed:
                allowed.append(d.value)
        listed = ", ".join(f"'{a}'" for a in allowed)
        status = ds.status_of(items, display)
        text = messages.plural(
            len(allowed), "INACTIVE_DISPLAY_FOUND", len(allowed), display, code, listed, status
        )
        found.add("warning", "invalid", where, "INACTIVE_DISPLAY_FOUND", text.strip(), "display-comment")


def check_other_display(
    options: Any,
    found: Findings,
    designations: list[Designation],
    default_language: str | None,
    system: str,
    coding: dict[str, Any],
    path: str,
    note: Callable[[str], None],
) -> None:
    """The display of a coding that is not in the value set, against its code system."""
    display = coding["display"]
    languages = options.working_languages()
    matched, difference = ds.has_display(designations, languages, default_language, display)
    if matched:
        return
    severity = "warning" if options.display_warning else "error"
    base_id = WRONG_WHITESPACE if difference == "normalized" else WRONG
    code = coding.get("code") or ""
    count = ds.display_count(designations, languages)
    if count == 0:
        base_id, severity = "NO_VALID_DISPLAY_AT_ALL", "warning"
        text = messages.render(base_id, display, system, code, options.lang_summary())
    else:
        valid = ds.present(designations, languages)
        text = _wrong_display_text(base_id, count, system, code, valid, display, options.lang_summary())
    note(text)
    found.add(severity, "invalid", add_path(path, "display"), base_id, text, "invalid-display")
