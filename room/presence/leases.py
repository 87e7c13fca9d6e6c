"""Connections and leases: one live connection per identity, the grace period after it
closes, renewal while connected, and what expiry releases.

Lease deadlines are times of the store's clock (`Store.now`: Redis `TIME`), read once per
renewal, sweep or disconnect: nodes whose clocks disagree still agree on who lapsed."""

from __future__ import annotations

import time
from collections.abc import Iterable

import msgspec

from room import keys, seats, stage
from room.changes import Change
from room.presence import hands, roster
from room.records import Person, decode
from room.store import SlotEntry, Store

RENEW_BATCH = 1000
"""Holders renewed per store call: a node with many connections sends several small calls."""


class Outage:
    """Whether this node may sweep: a store outage never evicts connected people.

    Nodes cannot renew while the store is unreachable, so every lease looks lapsed when it
    comes back. Sweeping therefore pauses while the store is unreachable and for one full
    lease period after it answered again (by then every node has renewed its live
    connections). Times are this process's monotonic clock; `at` is for tests."""

    def __init__(self, lease_ttl: float) -> None:
        self.lease_ttl = lease_ttl
        self.down = False
        self._hold_until = 0.0

    def failed(self) -> bool:
        """The store did not answer. True when this starts an outage."""
        started = not self.down
        self.down = True
        return started

    def answered(self, at: float | None = None) -> bool:
        """The store answered. True when this ends an outage."""
        if not self.down:
            return False
        self.down = False
        self._hold_until = (time.monotonic() if at is None else at) + self.lease_ttl
        return True

    def may_sweep(self, at: float | None = None) -> bool:
        return not self.down and (time.monotonic() if at is None else at) >= self._hold_until


class Eviction(msgspec.Struct):
    """A connection the room closes, and what its page is told first."""

    sid: str
    event: str
    """The Socket.IO event the page receives."""
    code: str
    message: str

    def notice(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


async def bind_connection(store: Store, event_id: str, identity: str, sid: str) -> str | None:
    """Make `sid` the identity's connection; returns the connection it replaces, if any."""
    old = await store.hswap(keys.connections(event_id), identity, sid.encode())
    if old is None or old.decode() == sid:
        return None
    return old.decode()


async def connect(store: Store, event_id: str, identity: str, sid: str) -> Eviction | None:
    """Bind `sid` to the identity. The same identity connecting again replaces the older
    connection (no ghosts): that one comes back, to be told why and closed."""
    old = await bind_connection(store, event_id, identity, sid)
    if old is None:
        return None
    return Eviction(old, "replaced", "replaced", "you joined from another window or device")


async def connection_of(store: Store, event_id: str, identity: str) -> str | None:
    raw = await store.hget(keys.connections(event_id), identity)
    return None if raw is None else raw.decode()


async def disconnected(
    store: Store, event_id: str, identity: str, sid: str, grace: float
) -> list[Change]:
    """The connection `sid` closed: if it was the current one, start the grace period."""
    if not await store.hcas(keys.connections(event_id), identity, sid.encode(), None):
        return []  # replaced by a newer connection, or already removed
    await store.holder_touch([seats.holder(event_id, identity)], await store.now() + grace)
    person = await roster.update_person(store, event_id, identity, roster.set_connected(False))
    if person is None:
        return []
    return [await roster.roster_change(store, event_id, "roster.updated", person)]


async def renew(store: Store, connected: Iterable[tuple[str, str]], lease_ttl: float) -> None:
    """Push back the deadline of connected (event id, identity) pairs (each node, periodically)."""
    holders = sorted({seats.holder(event_id, identity) for event_id, identity in connected})
    if not holders:
        return
    until = await store.now() + lease_ttl  # one clock for every node: the store's
    for i in range(0, len(holders), RENEW_BATCH):
        await store.holder_touch(holders[i : i + RENEW_BATCH], until)


async def expire(store: Store) -> list[Change]:
    """Release everything held by identities whose grace period (or node) ended."""
    return (await expire_all(store))[0]


async def expire_all(store: Store) -> tuple[list[Change], list[tuple[str, str]]]:
    """`expire`, and the (event id, identity) of everyone it forgot: the edge closes the
    session records their dead node left open as of their last renewal."""
    out: list[Change] = []
    people: list[tuple[str, str]] = []
    for hold, slots in await store.holder_expire(await store.now()):
        event_id, identity = seats.split_holder(hold)
        people.append((event_id, identity))
        out.extend(await forget(store, event_id, identity, slots))
    return out, people


async def forget(
    store: Store, event_id: str, identity: str, slots: list[SlotEntry]
) -> list[Change]:
    """Take an identity out of the event's roster, hand queue and (its slots being
    released already) tell the room if it left the stage."""
    raw = await store.hget(keys.roster(event_id), identity)
    await store.hdel(keys.roster(event_id), identity)
    await store.hdel(keys.public_roster(event_id), identity)
    await store.hdel(keys.connections(event_id), identity)
    out = await hands.lower_hand(store, event_id, identity)
    if any(keys.is_stage_slots(pool) for pool, _ in slots):
        out.append(await stage.announce(store, event_id))
    if raw is not None:
        out.append(await roster.roster_change(store, event_id, "roster.left", decode(raw, Person)))
    return out


async def end_all(store: Store, event_id: str) -> None:
    """The event ended: every lease in it is released, its hands and connections dropped."""
    for person in await roster.people(store, event_id):
        await store.holder_release(seats.holder(event_id, person.identity))
    await store.delete(keys.hands(event_id), keys.connections(event_id))
