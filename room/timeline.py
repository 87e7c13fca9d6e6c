"""An event's timeline: what happened when, kept for the replay and the MP4 export.

Every recorded change whose name is in `KINDS` is noted here by `changes.record` (the
one place every change passes), with the payload the audience named there sees:
slide changes, questions put on or taken off the second screen (pushed, answered), poll
openings, closings and results, and the stage's tracks (whose, which source). The media
owner's active-speaker reports are noted with `add` (kind `media.speaker`). Times are the
store's clock (`Store.now`), the clock a `Recording`'s `started_at` is read from, so an
entry's place in a recording is `entry.at - recording.started_at`.

The timeline holds at most `MAX_ENTRIES` entries per event; past that, new ones are
dropped (the replay then shows the event as it was at that point).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import msgspec

from room import keys
from room.store import Store

MAX_ENTRIES = 20_000
"""Entries kept per event."""

KINDS: dict[str, tuple[str, ...]] = {
    "slides.changed": ("audience", "all"),
    "question.changed": ("screen",),
    "poll.changed": ("audience", "all"),
    "poll.results": ("audience", "all"),
    "stage.changed": ("all",),
}
"""The changes kept in the timeline, and whose payload is kept (the first present of
these `room.changes.Audience` values).
A question's votes change only what staff and the audience see, never the screen's
view, so a vote storm adds nothing here."""

SPEAKER = "media.speaker"
"""The kind of the active-speaker entries (`data`: `{"person": identity or ""}`)."""


class Entry(msgspec.Struct, array_like=True, frozen=True):
    at: float
    """Store time (Unix seconds)."""
    kind: str
    """The change's wire name, or `SPEAKER`."""
    data: dict[str, Any]


_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder(Entry)


def _field(at: float) -> str:
    return f"{at:017.6f}-{secrets.token_hex(3)}"


async def add(store: Store, event_id: str, kind: str, data: dict[str, Any]) -> bool:
    """Note one entry now; False when the event's timeline is full."""
    at = await store.now()
    entry = Entry(at, kind, data)
    key = keys.timeline(event_id)
    done = await store.hsetnx_capped(key, _field(at), _enc.encode(entry), MAX_ENTRIES)
    return bool(done)


async def note(
    store: Store, event_id: str, name: str, payloads: Mapping[Any, Mapping[str, Any]]
) -> None:
    """Note a recorded change (its name and payload per `Audience`), if it is of a kind
    the timeline keeps."""
    wanted = KINDS.get(name)
    if wanted is None:
        return
    for audience in wanted:
        payload = payloads.get(audience)
        if payload is not None:
            data = {k: v for k, v in payload.items() if k != "rev"}
            await add(store, event_id, name, data)
            return


async def read(
    store: Store, event_id: str, start: float | None = None, end: float | None = None
) -> list[Entry]:
    """The entries between `start` and `end` (store times, both included), oldest first."""
    raw = await store.hgetall(keys.timeline(event_id))
    out = []
    for field in sorted(raw):
        entry = _dec.decode(raw[field])
        if (start is None or entry.at >= start) and (end is None or entry.at <= end):
            out.append(entry)
    return out
