"""Going live and ending: the lifecycle's transitions with their seats and presence
(R-LIFE, R-ROLE-3, R-SEAT-4)."""

from __future__ import annotations

import msgspec

from room import changes, keys, lifecycle, replay
from room.accounts.limits import limits
from room.changes import Audience, Change
from room.errors import Code, TribuneError
from room.events import change_event, load_event
from room.presence import leases, roster
from room.records import Event
from room.store import Store
from room.types import EventState


async def _status(store: Store, event: Event) -> Change:
    return await changes.record(
        store,
        Change(
            event_id=event.id,
            name="event.status",
            payloads={Audience.ALL: {"event": msgspec.to_builtins(roster.event_view(event))}},
        ),
    )


async def start(store: Store, event_id: str) -> tuple[Event, list[Change]]:
    """Go live, within the account's parallel-events allowance."""
    event = await load_event(store, event_id)
    if event.state is EventState.LIVE:
        return event, []
    lifecycle.require_startable(event)
    allowance = (await limits(store, event.account_id)).parallel_events
    if not await store.slot_reserve(keys.live_events(event.account_id), event.id, allowance):
        raise TribuneError(
            Code.PARALLEL_LIMIT,
            f"your plan and add-ons allow {allowance} live event(s) at a time; end one first "
            "or buy the parallel events add-on",
        )

    try:
        event = await change_event(store, event_id, lifecycle.go_live)
    except TribuneError:
        await store.slot_release(keys.live_events(event.account_id), event.id)
        raise
    return event, [await _status(store, event)]


async def end(store: Store, event_id: str) -> tuple[Event, list[Change]]:
    """End the event: frees its live slot and every seat in it; new joins get `event_ended`.
    With a stopped recording to replay it is on demand at once (`replay.settle`)."""
    event = await load_event(store, event_id)
    if lifecycle.is_ended(event):
        return event, []

    event = await change_event(store, event_id, lifecycle.finish)
    await store.slot_release(keys.live_events(event.account_id), event.id)
    await leases.end_all(store, event_id)
    event, _ = await replay.settle(store, event_id)
    return event, [await _status(store, event)]


async def offer_replay(store: Store, event_id: str) -> list[Change]:
    """A recording stopped: an ended event it makes replayable is now on demand, and
    everyone is told (`event.status`)."""
    event, moved = await replay.settle(store, event_id)
    return [await _status(store, event)] if moved else []
