"""Raised hands: a queue in the order hands went up, taken from the front by the staff."""

from __future__ import annotations

import msgspec

from room import changes, keys
from room.changes import Audience, Change
from room.records import Person, decode, now
from room.store import Store


class Hand(msgspec.Struct):
    """A raised hand as the staff see it."""

    person: str
    name: str
    at: float


async def hand_queue(store: Store, event_id: str) -> list[tuple[str, float]]:
    return await store.zrange(keys.hands(event_id))


async def queue_change(store: Store, event_id: str) -> Change:
    """Record the queue as it is now: names for the staff, identities for the audience."""
    queue = await hand_queue(store, event_id)
    raws = await store.hmget(keys.roster(event_id), [m for m, _ in queue])
    staff = [
        Hand(member, decode(raw, Person).name if raw is not None else "", at)
        for (member, at), raw in zip(queue, raws, strict=True)
    ]
    return await changes.record(
        store,
        Change(
            event_id=event_id,
            name="hand.queue",
            payloads={
                Audience.STAFF: {"queue": msgspec.to_builtins(staff)},
                Audience.AUDIENCE: {"queue": [m for m, _ in queue]},
            },
        ),
    )


async def raise_hand(store: Store, event_id: str, identity: str) -> list[Change]:
    if await store.zadd(keys.hands(event_id), identity, now(), nx=True):
        return [await queue_change(store, event_id)]
    return []


async def lower_hand(store: Store, event_id: str, identity: str) -> list[Change]:
    if await store.zrem(keys.hands(event_id), identity):
        return [await queue_change(store, event_id)]
    return []


async def next_hand(store: Store, event_id: str) -> tuple[Person | None, list[Change]]:
    """Take the oldest raised hand off the queue (staff), returning whose it was."""
    while True:
        popped = await store.zpopmin(keys.hands(event_id))
        if popped is None:
            return None, []
        raw = await store.hget(keys.roster(event_id), popped[0])
        if raw is not None:
            return decode(raw, Person), [await queue_change(store, event_id)]
