"""Going live and ending: the lifecycle's transitions with their seats and presence
(R-LIFE, R-ROLE-3, R-SEAT-4)."""

from __future__ import annotations

import msgspec

from room import changes, keys, lifecycle
from room.accounts.account import get_account
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
    account = await get_account(store, event.account_id)
    allowance = account.plan.parallel_events
    if not await store.slot_reserve(keys.live_events(account.id), event.id, allowance):
        raise TribuneError(
            Code.PARALLEL_LIMIT,
            f"your plan allows {allowance} live event(s) at a time; end one first",
        )

    try:
        event = await change_event(store, event_id, lifecycle.go_live)
    except TribuneError:
        await store.slot_release(keys.live_events(account.id), event.id)
        raise
    return event, [await _status(store, event)]


async def end(store: Store, event_id: str) -> tuple[Event, list[Change]]:
    """End the event: frees its live slot and every seat in it; new joins get `event_ended`."""
    event = await load_event(store, event_id)
    if lifecycle.is_ended(event):
        return event, []

    event = await change_event(store, event_id, lifecycle.finish)
    await store.slot_release(keys.live_events(event.account_id), event.id)
    await leases.end_all(store, event_id)
    return event, [await _status(store, event)]
