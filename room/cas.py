"""The compare-and-set update of one stored record: the one retry loop over `Store.hcas`.

A record kept in a hash field is changed by reading it, applying the change to a
decoded copy and writing it back only if nobody wrote in between; on a concurrent
write the whole step runs again on the new value. Records are msgspec Structs, so
a change that leaves the copy equal to what was read writes nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Generic, NamedTuple, TypeVar, overload

import msgspec

from room.errors import Code, TribuneError
from room.records import decode, encode
from room.store import Store

S = TypeVar("S", bound=msgspec.Struct)

ATTEMPTS = 50
"""Rounds before a record written too often concurrently is refused with `conflict`."""


class Delete(enum.Enum):
    DELETE = enum.auto()


DELETE = Delete.DELETE
"""What a change returns to delete the record instead of writing it back."""

Mutation = Callable[[S], Delete | None]
"""Mutates the decoded copy in place (or returns DELETE); may raise to refuse."""


class Updated(NamedTuple, Generic[S]):
    before: S
    """The record as read by the round that won."""
    after: S
    """The record as written (equal to `before` when nothing changed; after DELETE,
    the copy the change saw, though nothing is stored any more)."""


@overload
async def update(
    store: Store,
    key: str,
    field: str,
    kind: type[S],
    change: Mutation[S],
    *,
    missing: TribuneError,
    conflict: str,
    attempts: int = ATTEMPTS,
) -> Updated[S]: ...


@overload
async def update(
    store: Store,
    key: str,
    field: str,
    kind: type[S],
    change: Mutation[S],
    *,
    missing: TribuneError | None,
    conflict: str | None,
    attempts: int = ATTEMPTS,
) -> Updated[S] | None: ...


async def update(
    store: Store,
    key: str,
    field: str,
    kind: type[S],
    change: Mutation[S],
    *,
    missing: TribuneError | None,
    conflict: str | None,
    attempts: int = ATTEMPTS,
) -> Updated[S] | None:
    """Apply `change` to the record in hash `key`, field `field`, with compare-and-set.

    `missing` is raised when the field is absent (None: return None instead).
    After `attempts` lost rounds, `conflict` is the message of the `conflict` error
    (None: a best-effort update that gives up quietly and returns None).
    """
    for _ in range(attempts):
        raw = await store.hget(key, field)
        if raw is None:
            if missing is None:
                return None
            raise missing
        before, after = decode(raw, kind), decode(raw, kind)
        if change(after) is DELETE:
            if await store.hcas(key, field, raw, None):
                return Updated(before, after)
        elif after == before or await store.hcas(key, field, raw, encode(after)):
            return Updated(before, after)
    if conflict is None:
        return None
    raise TribuneError(Code.CONFLICT, conflict)
