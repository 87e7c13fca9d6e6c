"""Recordings' records: one per recording of an event, with its tracks and size.

The media owner writes the files (`media.recorder`); this module keeps what the rest of
the product reads: who started it, when, its state, its tracks (from the manifest) and
its size on disk. The account's recording space (`Limits.recording_mb`) is the sum of the
sizes of its events' recordings: at 100 % a new one is refused `limit_reached`, at 90 % a
running one warns the organizer (`QUOTA_WARNING`), past 100 % it is stopped.

A recording is written in **parts**: part 1 by the media owner it started on; when that
owner dies, the node that takes the event's media over continues the same recording as
part 2 (and so on), with its own files (`p2-…`). While a part runs, its owner notes its
tracks and size here every few seconds (`part_progress`), so that what a dead owner
wrote stays known; the record's `tracks` are every part's, each with its `part`, and its
`size_bytes` the sum of the parts'.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from typing import Any

import msgspec

from room import cas, keys, recording_exports
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
    part: int = 1
    """The part of the recording this track's file belongs to."""


class RecordingPart(msgspec.Struct):
    """One owner's share of a recording: its files, from `started` to `stopped` (store
    clock); a part whose owner died stops when the next one starts."""

    index: int
    started: float
    stopped: float | None = None
    tracks: list[RecordedTrack] = []
    size_bytes: int = 0


class Recording(msgspec.Struct):
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
    parts: list[RecordingPart] = []
    """The parts written so far (one unless its media owner changed while it ran)."""

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


def records_itself(event: Event) -> bool:
    """Whether a recording starts by itself when the event goes live (`auto_record`)."""
    return event.settings.auto_record is True


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


def _tracks_of(manifest: dict[str, Any], index: int) -> list[RecordedTrack]:
    return [
        msgspec.convert({**t, "part": index}, RecordedTrack) for t in manifest.get("tracks", [])
    ]


def _note(rec: Recording, manifest: dict[str, Any], now: float, final: bool) -> None:
    """A part's manifest into the record: its tracks and size (and its end when `final`)."""
    index = int(manifest.get("part", 1))
    part = next((p for p in rec.parts if p.index == index), None)
    if part is None:
        part = RecordingPart(index, started=now)
        rec.parts = sorted([*rec.parts, part], key=lambda p: p.index)
    part.tracks = _tracks_of(manifest, index)
    part.size_bytes = int(manifest.get("size_bytes", 0))
    if final:
        part.stopped = now
    rec.tracks = [t for p in rec.parts for t in p.tracks]
    rec.size_bytes = sum(p.size_bytes for p in rec.parts)


async def _update(
    store: Store, event_id: str, recording_id: str, change: cas.Mutation[Recording]
) -> Recording | None:
    done = await cas.update(
        store,
        keys.recordings(event_id),
        recording_id,
        Recording,
        change,
        missing=None,
        conflict="the recording is being changed too often; try again",
    )
    return None if done is None else done.after


async def part_begun(
    store: Store, event_id: str, recording_id: str, index: int, now: float
) -> Recording | None:
    """Part `index` of the running recording starts now (the earlier ones, whose owner
    died, stop now). None if the recording is not running."""

    def begin_part(rec: Recording) -> None:
        if rec.state is not RecordingState.RECORDING:
            return
        for p in rec.parts:
            if p.stopped is None and p.index < index:
                p.stopped = now
        if all(p.index != index for p in rec.parts):
            rec.parts = sorted([*rec.parts, RecordingPart(index, now)], key=lambda p: p.index)

    rec = await _update(store, event_id, recording_id, begin_part)
    return rec if rec is not None and rec.state is RecordingState.RECORDING else None


async def part_progress(
    store: Store, event_id: str, recording_id: str, manifest: dict[str, Any], now: float
) -> None:
    """A running part's tracks and size so far (its manifest), noted by its owner."""

    def progress(rec: Recording) -> None:
        if rec.state is RecordingState.RECORDING:
            _note(rec, manifest, now, final=False)

    await _update(store, event_id, recording_id, progress)


async def finish(
    store: Store,
    event_id: str,
    recording_id: str,
    manifest: dict[str, Any] | None,
    size_bytes: int,
    now: float,
    reason: str = "",
) -> Recording | None:
    """The recording stopped: its tracks, size and end. None if it was not running.

    `manifest` is the last part's (None when its owner had none: the parts noted so far
    count); a recording without parts takes the manifest's tracks and `size_bytes`."""
    stopped: list[bool] = []

    def stop(rec: Recording) -> None:
        stopped.clear()
        if rec.state is RecordingState.STOPPED:
            return
        if manifest is not None and (rec.parts or "part" in manifest):
            _note(rec, manifest, now, final=True)
        elif not rec.parts:
            rec.tracks = _tracks_of(manifest or {}, 1)
            rec.size_bytes = size_bytes
        for p in rec.parts:
            if p.stopped is None:
                p.stopped = now
        rec.state, rec.stopped_at, rec.reason = RecordingState.STOPPED, now, reason
        stopped.append(True)

    done = await _update(store, event_id, recording_id, stop)
    return done if stopped else None
