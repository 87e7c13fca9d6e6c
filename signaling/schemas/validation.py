"""The one validator of wire payloads, and the one reading of msgspec's errors."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from room.errors import TribuneError, invalid

T = TypeVar("T")

_AT = re.compile(r"at `\$\.?([^`]*)`")
_MISSING = re.compile(r"field `([^`]+)`")
_UNKNOWN = re.compile(r"unknown field `([^`]+)`")


class Empty(msgspec.Struct, forbid_unknown_fields=True):
    """A payload with nothing in it (a missing payload counts as one)."""


def field_of(exc: msgspec.ValidationError) -> str | None:
    """The field a msgspec validation error is about, as the client named it."""
    text = str(exc)
    m = _AT.search(text)
    field = m.group(1) if m and m.group(1) else None
    if field is None and "Object missing required field" in text:
        q = _MISSING.search(text)
        field = q.group(1) if q else None
    if field is None and "unknown field" in text:
        q = _UNKNOWN.search(text)
        field = q.group(1) if q else None
    return field


def refusal(exc: msgspec.ValidationError) -> TribuneError:
    """`invalid` for a validation error: its text (cut short) and the field at fault."""
    return invalid(str(exc)[:300], field_of(exc))


def _has_bad_text(value: Any, depth: int = 0) -> bool:
    """True if any string holds lone surrogates (bytes that were not UTF-8 on the wire)."""
    if depth > 32:
        return True
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(
            _has_bad_text(k, depth + 1) or _has_bad_text(v, depth + 1) for k, v in value.items()
        )
    if isinstance(value, list | tuple):
        return any(_has_bad_text(v, depth + 1) for v in value)
    return False


def validate(data: Any, schema: type[T]) -> T:
    """Convert a decoded payload into `schema`, or raise `invalid` naming the field at fault."""
    if data is None and schema is Empty:
        data = {}
    if _has_bad_text(data):
        raise invalid("text must be valid UTF-8")
    try:
        return msgspec.convert(data, schema, strict=True)
    except msgspec.ValidationError as exc:
        raise refusal(exc) from None
