"""A recording's MP4 export: its record (state, progress, size, error) and its rules.

The export is a background job (issue 12): the edge queues it here, a node's runner
(`signaling/export_jobs.py`) runs the worker process (`media.export`) and writes its
progress, size or error here. The rules:

- a running recording is not exported (`conflict`), nor a new export started when the
  account's recording space is used up (`limit_reached`);
- one export per recording: asking again while it is queued or running, or once it is
  done, answers that export; a failed one is started anew;
- an export whose runner has not been heard of for `STALE` seconds (its node restarted
  or died mid-job) counts as failed, `interrupted`: asking again starts it anew;
- a done export's size counts in the account's recording space
  (`room.recordings.used_bytes`); the record and the file go with the event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum

import msgspec

from room import cas
from room.errors import Code, TribuneError
from room.keys_media import recording_exports as _key
from room.records import decode, encode
from room.store import Store

FILE = "export.mp4"
"""The export's file name in the recording's folder."""
STALE = 30.0
"""Seconds without word from an export's runner after which it counts as interrupted."""
INTERRUPTED = "interrupted"


class ExportState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


ACTIVE = (ExportState.QUEUED, ExportState.RUNNING)


class Export(msgspec.Struct):
    state: ExportState
    queued_at: float
    runner: str
    """The runner (one per server process) that holds the job."""
    beat: float
    """Store time its runner last spoke of it."""
    progress: float = 0.0
    """0..1."""
    size_bytes: int = 0
    error: str = ""
    finished_at: float | None = None


def seen(export: Export, runner: str, now: float) -> Export:
    """The export as it stands: one another runner stopped speaking of is interrupted."""
    if export.state in ACTIVE and export.runner != runner and now - export.beat > STALE:
        return msgspec.structs.replace(
            export, state=ExportState.FAILED, error=INTERRUPTED, finished_at=export.beat
        )
    return export


async def get(store: Store, event_id: str, recording_id: str) -> Export | None:
    raw = await store.hget(_key(event_id), recording_id)
    return None if raw is None else decode(raw, Export)


async def all_for(store: Store, event_id: str) -> dict[str, Export]:
    """Every export of the event's recordings, by recording id."""
    raw = await store.hgetall(_key(event_id))
    return {rec_id: decode(value, Export) for rec_id, value in raw.items()}


async def used_bytes(store: Store, event_id: str) -> int:
    """What the event's done exports take on disk."""
    found = await all_for(store, event_id)
    return sum(e.size_bytes for e in found.values() if e.state is ExportState.DONE)


async def request(
    store: Store,
    event_id: str,
    recording_id: str,
    stopped: bool,
    space: Callable[[], Awaitable[object]],
    runner: str,
    now: float,
) -> tuple[Export, bool]:
    """The recording's export, queued for `runner` unless one is under way or done;
    True when this call queued it. `conflict` while the recording runs; a new one is
    refused as `space` refuses it (`room.recordings.space_for`: `limit_reached` when the
    account's recording space is used up)."""
    if not stopped:
        raise TribuneError(Code.CONFLICT, "the recording is still running")
    key = _key(event_id)
    checked = False
    for _ in range(cas.ATTEMPTS):
        raw = await store.hget(key, recording_id)
        if raw is not None:
            found = seen(decode(raw, Export), runner, now)
            if found.state is not ExportState.FAILED:
                return found, False
        if not checked:
            await space()
            checked = True
        fresh = Export(ExportState.QUEUED, queued_at=now, runner=runner, beat=now)
        if await store.hcas(key, recording_id, raw, encode(fresh)):
            return fresh, True
    raise TribuneError(Code.CONFLICT, "the export is being changed, try again")


async def _update(
    store: Store, event_id: str, recording_id: str, runner: str, change: Export
) -> Export | None:
    """Write `change`'s state, progress, size, error and beat into the runner's own
    active export (nothing once another runner took it over or it ended)."""

    def apply(e: Export) -> None:
        if e.runner != runner or e.state not in ACTIVE:
            return
        e.state, e.progress, e.beat = change.state, change.progress, change.beat
        e.size_bytes, e.error, e.finished_at = change.size_bytes, change.error, change.finished_at

    done = await cas.update(
        store, _key(event_id), recording_id, Export, apply, missing=None, conflict=None
    )
    return None if done is None else done.after


async def running(
    store: Store, event_id: str, recording_id: str, runner: str, progress: float, now: float
) -> Export | None:
    """The job runs and has done `progress` (0..1); also its runner's heartbeat."""
    change = Export(ExportState.RUNNING, 0.0, runner, now, progress=min(1.0, max(0.0, progress)))
    return await _update(store, event_id, recording_id, runner, change)


async def touch(store: Store, event_id: str, recording_id: str, runner: str, now: float) -> None:
    """The runner still holds this queued or running job."""
    current = await get(store, event_id, recording_id)
    if current is not None and current.runner == runner and current.state in ACTIVE:
        change = msgspec.structs.replace(current, beat=now)
        await _update(store, event_id, recording_id, runner, change)


async def finished(
    store: Store, event_id: str, recording_id: str, runner: str, size_bytes: int, now: float
) -> Export | None:
    change = Export(
        ExportState.DONE, 0.0, runner, now, progress=1.0, size_bytes=size_bytes, finished_at=now
    )
    return await _update(store, event_id, recording_id, runner, change)


async def failed(
    store: Store, event_id: str, recording_id: str, runner: str, error: str, now: float
) -> Export | None:
    current = await get(store, event_id, recording_id)
    progress = 0.0 if current is None else current.progress
    change = Export(
        ExportState.FAILED, 0.0, runner, now, progress=progress, error=error[:300], finished_at=now
    )
    return await _update(store, event_id, recording_id, runner, change)
