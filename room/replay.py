"""The replay of an ended event (issue 12): when an event is on demand, and what its replay
shows.

An ended event with at least one stopped recording that has tracks is `on_demand`
(`settle`). The one place that moves it there is `settle`, run when the event ends
(`room.live.end`) and when a recording stops (the end stops a running recording only
after the event is ended, so the recording's own stop is what makes it on demand).

A replay is the event's playable recordings, each with its tracks placed by their offset
from the recording's start and the timeline entries during it placed the same way
(`entry.at - recording.started_at`), so one clock plays it all.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import msgspec

from room import lifecycle, recordings, timeline
from room.errors import Code, TribuneError
from room.events import change_event, load_event
from room.recordings import Recording, RecordingState
from room.records import Event, Invitation
from room.store import Store
from room.types import EventState

VIEWER = "replay:"
"""The lease identities of replay connections start with this (no invitation id does)."""


class ReplayTrack(msgspec.Struct, frozen=True):
    kind: str
    codec: str
    person: str
    source: str
    file: str
    offset: float
    """Seconds from the recording's start to the track's first frame."""
    duration: float
    """Seconds the track lasts."""


class ReplayEntry(msgspec.Struct, frozen=True):
    t: float
    """Seconds from the recording's start (negative: before it, the state it starts in)."""
    kind: str
    data: dict[str, Any]


class ReplayRecording(msgspec.Struct, frozen=True):
    id: str
    started_at: float
    duration_s: float
    tracks: list[ReplayTrack]
    timeline: list[ReplayEntry]


def playable(found: list[Recording]) -> list[Recording]:
    """The recordings a replay can play: stopped, with at least one track."""
    return [r for r in found if r.state is RecordingState.STOPPED and r.tracks]


async def settle(store: Store, event_id: str) -> tuple[Event, bool]:
    """Move an ended event with a playable recording to `on_demand`: the event as it is,
    and whether it moved now."""
    event = await load_event(store, event_id)
    if event.state is not EventState.ENDED:
        return event, False
    if not playable(await recordings.list_for(store, event_id)):
        return event, False
    after = await change_event(store, event_id, lifecycle.offer_replay)
    return after, True


def viewer_identity(inv: Invitation, issued: str | None, device: str | None) -> str:
    """Who watches the replay: a personal link's holder; on a shared link the identity the
    live room issued to this browser (`issued`, its token already verified), else one per
    device (a reconnect is the same visitor), else a new one."""
    if not inv.shared:
        return inv.id
    if issued is not None:
        return issued
    if device is not None:
        digest = hashlib.sha256(f"{inv.id}\n{device}".encode()).hexdigest()[:16]
        return f"{inv.id}.r{digest}"
    return f"{inv.id}.r{secrets.token_hex(8)}"


def viewer_lease(connection: str) -> str:
    """The lease identity of one replay connection. It holds no seat: its lease, renewed
    by its node with the seats, only says that node is alive; when it lapses (the node
    died) the connection's session closes as of the last renewal."""
    return f"{VIEWER}{connection}"


def viewer_of(identity: str) -> str | None:
    """The replay connection a lease identity stands for, or None (a person's lease)."""
    return identity[len(VIEWER) :] if identity.startswith(VIEWER) else None


def require_replay(event: Event) -> None:
    """Refuse (`not_found`, saying why) an event that has no replay (yet)."""
    if not lifecycle.has_replay(event):
        raise TribuneError(Code.NOT_FOUND, "this event has no replay")


def _track(rec: Recording, tr: recordings.RecordedTrack) -> ReplayTrack:
    end = tr.stopped if tr.stopped is not None else rec.duration_s
    return ReplayTrack(
        tr.kind,
        tr.codec,
        tr.person,
        tr.source,
        tr.file,
        offset=round(tr.started, 3),
        duration=round(max(0.0, end - tr.started), 3),
    )


async def recordings_of(store: Store, event: Event) -> list[ReplayRecording]:
    """The event's replay: every playable recording with its tracks and timeline. The
    timeline of each starts with every entry before it (what was on screen when it
    started: the page plays them at once), and ends at its stop."""
    require_replay(event)
    out = []
    for rec in playable(await recordings.list_for(store, event.id)):
        entries = await timeline.read(store, event.id, end=rec.stopped_at)
        out.append(
            ReplayRecording(
                id=rec.id,
                started_at=rec.started_at,
                duration_s=round(rec.duration_s, 3),
                tracks=[_track(rec, tr) for tr in rec.tracks],
                timeline=[
                    ReplayEntry(round(e.at - rec.started_at, 3), e.kind, e.data) for e in entries
                ],
            )
        )
    return out
