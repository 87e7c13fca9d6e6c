"""State changes of an event: revision-numbered, logged for `sync`, addressed to an audience."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec

from room import keys, timeline
from room.store import Store

LOG_KEEP = 512
"""How many changes an event keeps for clients that reconnect and `sync`."""


Payload = dict[str, Any]
"""What one audience receives of a change. Free-form on purpose: each change name has its
own fields, the payload is kept in the log as msgpack and comes back as a plain map, and
`record` stamps its `rev` in place. Views go in already converted (`records.to_wire`)."""


class Audience(StrEnum):
    ALL = "all"
    STAFF = "staff"
    AUDIENCE = "audience"
    """Everyone in the room who is not staff (participants)."""
    SCREEN = "screen"
    """The moderator second screens."""


class Change(msgspec.Struct):
    """One state change: the wire event name and the payload each audience receives."""

    event_id: str
    name: str
    payloads: dict[Audience, Payload]
    rev: int = 0

    def payload_for(self, audience: Audience) -> Payload | None:
        """What a member of `audience` receives of this change, if anything."""
        if Audience.ALL in self.payloads:
            return self.payloads[Audience.ALL]
        return self.payloads.get(audience)


_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder(Change)


async def record(store: Store, change: Change) -> Change:
    """Give the change the event's next revision and keep it in the log."""
    change.rev = 0
    rev = await store.log_append(keys.changes(change.event_id), _enc.encode(change), LOG_KEEP)
    change.rev = rev
    await timeline.note(store, change.event_id, change.name, change.payloads)
    for payload in change.payloads.values():
        payload["rev"] = rev
    return change


async def since(store: Store, event_id: str, rev: int) -> tuple[int, list[Change] | None]:
    """The current revision and the changes after `rev` (None when the log no longer has them)."""
    current, entries = await store.log_since(keys.changes(event_id), rev)
    if entries is None:
        return current, None
    out = []
    for r, raw in entries:
        c = _dec.decode(raw)
        c.rev = r
        for payload in c.payloads.values():
            payload["rev"] = r
        out.append(c)
    return current, out


async def current_rev(store: Store, event_id: str) -> int:
    rev, _ = await store.log_since(keys.changes(event_id), 1 << 62)
    return rev
