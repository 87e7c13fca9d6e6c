"""Declared payload schemas for every client->server event, and the validator."""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

import msgspec

from room.errors import invalid
from room.types import Role

T = TypeVar("T")

Token = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
Device = Annotated[str, msgspec.Meta(min_length=8, max_length=128)]
Name = Annotated[str, msgspec.Meta(max_length=200)]
PersonId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Rev = Annotated[int, msgspec.Meta(ge=0)]


class ConnectAuth(msgspec.Struct, forbid_unknown_fields=True):
    token: Token
    device: Device
    name: Name = ""
    rev: Rev | None = None


class Empty(msgspec.Struct, forbid_unknown_fields=True):
    pass


class RoleSet(msgspec.Struct, forbid_unknown_fields=True):
    person: PersonId
    role: Role


class PersonRemove(msgspec.Struct, forbid_unknown_fields=True):
    person: PersonId
    ban: bool = False


class Sync(msgspec.Struct, forbid_unknown_fields=True):
    rev: Rev
    full: bool = False
    """Ask for a fresh snapshot whatever was missed."""


_AT = re.compile(r"at `\$\.?([^`]*)`")


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
        text = str(exc)
        m = _AT.search(text)
        field = m.group(1) if m and m.group(1) else None
        if field is None and "Object missing required field" in text:
            q = re.search(r"field `([^`]+)`", text)
            field = q.group(1) if q else None
        if field is None and "unknown field" in text:
            q = re.search(r"unknown field `([^`]+)`", text)
            field = q.group(1) if q else None
        raise invalid(text[:300], field) from None
