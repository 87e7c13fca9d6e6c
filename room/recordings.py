"""Recordings' records: one per recording of an event, with its tracks and size.

The media owner writes the files (`media.recorder`); this module keeps what the rest of
the product reads: who started it, when, its state, its tracks (from the manifest) and
its size on disk. The account's recording space (`Limits.recording_mb`) is the sum of the
sizes of its events' recordings: at 100 % a new one is refused `limit_reached`, at 90 % a
running one warns the organizer (`QUOTA_WARNING`), past 100 % it is stopped.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from typing import Any

import msgspec

from room import keys, recording_exports
from room.accounts.limits import limits
from room.errors import Code, TribuneError
from room.records import Event
from room.store import Store

MB = 1024 * 1024
QUOTA_WARNING = 0.9
"""The share of the recording space at which the organizer is warned."""


class RecordingState(StrEnum):
    RECORDING = "recording"
    STOPPED = "stopped"


class RecordedTrack(msgspec.Struct, frozen=True):
    kind: str
    codec: str
    person: str
    source: str
    file: str
    started: float
    """Seconds from the recording's start to this track's first frame."""
    stopped: float | None = None


class Recording(msgspec.Struct, frozen=True):
    id: str
    event_id: str
    state: RecordingState
    started_at: float
    by: str = ""
    stopped_at: float | None = None
    size_bytes: int = 0
    tracks: list[RecordedTrack] = []
    reason: str = ""
    """Why it stopped when nobody stopped it (`quota`, `ended`)."""

    @property
    def duration_s(self) -> float:
        return 0.0 if self.stopped_at is None else max(0.0, self.stopped_at - self.started_at)


_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder(Recording)


def new_id() -> str:
    return "rec_" + secrets.token_hex(8)


async def get(store: Store, event_id: str, recording_id: str) -> Recording | None:
    raw = await store.hget(keys.recordings(event_id), recording_id)
    return None if raw is None else _dec.decode(raw)


async def list_for(store: Store, event_id: str) -> list[Recording]:
    found = [_dec.decode(v) for v in (await store.hgetall(keys.recordings(event_id))).values()]
    return sorted(found, key=lambda r: r.started_at)


async def running(store: Store, event_id: str) -> Recording | None:
    return next(
        (r for r in await list_for(store, event_id) if r.state is RecordingState.RECORDING), None
    )


async def used_bytes(store: Store, account_id: str) -> int:
    """The recording space the account's events take now: their recordings and the
    recordings' MP4 exports (`room.recording_exports`)."""
    total = 0
    for event_id in await store.hgetall(keys.account_events(account_id)):
        total += sum(r.size_bytes for r in await list_for(store, event_id))
        total += await recording_exports.used_bytes(store, event_id)
    return total


class Space(msgspec.Struct, frozen=True):
    """The account's recording space when a recording starts: used and allowed, bytes."""

    used: int
    allowed: int


async def space_for(store: Store, event: Event, now: float) -> Space:
    """The recording space of the event's account (its limits in effect: the plan plus
    the recording-space add-ons); `limit_reached` when it is used up."""
    allowed = (await limits(store, event.account_id, now)).recording_mb * MB
    used = await used_bytes(store, event.account_id)
    if used >= allowed:
        raise TribuneError(Code.LIMIT_REACHED, "the account's recording space is used up")
    return Space(used, allowed)


async def begin(store: Store, event_id: str, by: str, now: float) -> Recording:
    """The record of a recording that starts (its files are the media owner's)."""
    rec = Recording(new_id(), event_id, RecordingState.RECORDING, started_at=now, by=by)
    await store.hset(keys.recordings(event_id), rec.id, _enc.encode(rec))
    return rec


async def finish(
    store: Store,
    event_id: str,
    recording_id: str,
    manifest: dict[str, Any] | None,
    size_bytes: int,
    now: float,
    reason: str = "",
) -> Recording | None:
    """The recording stopped: its tracks, size and end. None if it was not running."""
    rec = await get(store, event_id, recording_id)
    if rec is None or rec.state is RecordingState.STOPPED:
        return None
    tracks = [msgspec.convert(t, RecordedTrack) for t in (manifest or {}).get("tracks", [])]
    done = msgspec.structs.replace(
        rec,
        state=RecordingState.STOPPED,
        stopped_at=now,
        size_bytes=size_bytes,
        tracks=tracks,
        reason=reason,
    )
    await store.hset(keys.recordings(event_id), rec.id, _enc.encode(done))
    return done
