"""The audit trail: an append-only list of every moderation action of an event."""

from __future__ import annotations

import msgspec

from moderation import keys
from moderation.items import AuditEntry, Fields
from room.records import Person, now
from room.store import Store

_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder(AuditEntry)


async def record(
    store: Store,
    event_id: str,
    who: Person,
    action: str,
    target: str,
    before: Fields | None = None,
    after: Fields | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=now(),
        by=who.identity,
        by_name=who.name,
        by_role=who.role.value,
        action=action,
        target=target,
        before=before,
        after=after,
    )
    await store.rpush(keys.audit(event_id), _enc.encode(entry))
    return entry


async def entries(store: Store, event_id: str, start: int = 0, stop: int = -1) -> list[AuditEntry]:
    return [_dec.decode(raw) for raw in await store.lrange(keys.audit(event_id), start, stop)]


def diff(before: msgspec.Struct, after: msgspec.Struct) -> tuple[Fields, Fields]:
    """The fields that changed, as (before, after) maps."""
    b: Fields = {}
    a: Fields = {}
    for name in before.__struct_fields__:
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            b[name] = msgspec.to_builtins(old)
            a[name] = msgspec.to_builtins(new)
    return b, a
