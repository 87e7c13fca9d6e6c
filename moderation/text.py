"""User text as the domain accepts it: plain text, trimmed, bounded, never empty."""

from __future__ import annotations

import re

from room.errors import invalid

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean(text: str, limit: int, field: str, what: str = "text") -> str:
    """Normalise newlines, drop control characters (tab and newline stay), trim, check length.

    The text is stored as the person typed it, markup included: pages render it as
    text (`textContent`), never as HTML.
    """
    out = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not out:
        raise invalid(f"the {what} must not be empty", field)
    if len(out) > limit:
        raise invalid(f"the {what} must be at most {limit} characters", field)
    return out
