"""The node registry and the one media owner of each event, in the store.

Every node writes a heartbeat (its id and media address, valid until a deadline)
into one hash, renewed well before the deadline. Each event that has media has one
owner node, claimed as LiveKit and DESIGN.md say: set-if-absent, then a lease the
owner renews. Every other node routes the event's media calls to the owner.

An owner is in office while both its lease on the event and its node's heartbeat are
current. Once either lapses, any node may take the event over with a compare-and-set
on the record it read: exactly one wins, and the winner's claim has a new `epoch`,
which tells the pages to publish and subscribe again. A node that comes back finds
the event owned and does not take it back. Times are seconds on the caller's clock,
which must be the same for every node: the store's clock, `Store.now`.
"""

from __future__ import annotations

import secrets

import msgspec

from room import keys
from room.store import Store

OWNER = "owner"
"""The field of an event's media hash that holds its `Owner`."""


class Node(msgspec.Struct, frozen=True):
    id: str
    media_host: str
    until: float


class Owner(msgspec.Struct, frozen=True):
    node: str
    epoch: str
    """New for each owner in turn: a page that sees another epoch publishes anew."""
    until: float


def _node(raw: bytes) -> Node:
    return msgspec.msgpack.decode(raw, type=Node)


def _owner(raw: bytes | None) -> Owner | None:
    return None if raw is None else msgspec.msgpack.decode(raw, type=Owner)


async def heartbeat(store: Store, node_id: str, media_host: str, ttl: float, now: float) -> None:
    """Say that `node_id` is alive until `now + ttl`."""
    await store.hset(
        keys.NODES, node_id, msgspec.msgpack.encode(Node(node_id, media_host, now + ttl))
    )


async def leave(store: Store, node_id: str) -> None:
    """Take a node out of the registry (it stops)."""
    await store.hdel(keys.NODES, node_id)


async def live_nodes(store: Store, now: float) -> list[Node]:
    """The nodes whose heartbeat is current, by id; lapsed entries are removed."""
    alive: list[Node] = []
    for field, raw in (await store.hgetall(keys.NODES)).items():
        node = _node(raw)
        if node.until >= now:
            alive.append(node)
        else:
            await store.hcas(keys.NODES, field, raw, None)
    return sorted(alive, key=lambda n: n.id)


async def _alive(store: Store, node_id: str, now: float) -> bool:
    raw = await store.hget(keys.NODES, node_id)
    return raw is not None and _node(raw).until >= now


async def owner(store: Store, event_id: str) -> Owner | None:
    """The event's owner as recorded, in office or not."""
    return _owner(await store.hget(keys.media_owner(event_id), OWNER))


async def in_office(store: Store, found: Owner | None, now: float) -> bool:
    return found is not None and found.until >= now and await _alive(store, found.node, now)


def same_term(a: Owner | None, b: Owner | None) -> bool:
    """The same owner's same term (renewals move `until` only)."""
    return a is not None and b is not None and (a.node, a.epoch) == (b.node, b.epoch)


class Claimed(msgspec.Struct, frozen=True):
    owner: Owner
    took_over: bool
    """This call replaced an owner that had lapsed (the pages must publish anew)."""


async def claim(store: Store, event_id: str, node_id: str, ttl: float, now: float) -> Claimed:
    """The event's owner in office, making `node_id` the owner when there is none.

    Set-if-absent for a new event; compare-and-set against the lapsed record for a
    takeover, so that of several nodes claiming at once exactly one wins and the others
    get the winner."""
    key = keys.media_owner(event_id)
    while True:
        raw = await store.hget(key, OWNER)
        found = _owner(raw)
        if found is not None and await in_office(store, found, now):
            return Claimed(found, took_over=False)
        mine = Owner(node_id, secrets.token_hex(6), now + ttl)
        if await store.hcas(key, OWNER, raw, msgspec.msgpack.encode(mine)):
            await store.hset(keys.MEDIA_EVENTS, event_id, b"")
            return Claimed(mine, took_over=found is not None)


async def renew(store: Store, event_id: str, mine: Owner, ttl: float, now: float) -> Owner | None:
    """Extend `mine`; None when another node holds the event now (this one lost it)."""
    key = keys.media_owner(event_id)
    raw = await store.hget(key, OWNER)
    if raw is None or not same_term(_owner(raw), mine):
        return None
    renewed = Owner(mine.node, mine.epoch, now + ttl)
    if await store.hcas(key, OWNER, raw, msgspec.msgpack.encode(renewed)):
        return renewed
    return None


async def hand_over(
    store: Store, event_id: str, mine: Owner, to_node: str, ttl: float, now: float
) -> Owner | None:
    """Give the event to `to_node` (a draining owner); None if `mine` is no longer in office."""
    key = keys.media_owner(event_id)
    raw = await store.hget(key, OWNER)
    if raw is None or not same_term(_owner(raw), mine):
        return None
    theirs = Owner(to_node, secrets.token_hex(6), now + ttl)
    if await store.hcas(key, OWNER, raw, msgspec.msgpack.encode(theirs)):
        return theirs
    return None


async def release(store: Store, event_id: str, mine: Owner) -> None:
    """Give up the event (it ended): the next media call claims it afresh."""
    key = keys.media_owner(event_id)
    raw = await store.hget(key, OWNER)
    if raw is not None and same_term(_owner(raw), mine) and await store.hcas(key, OWNER, raw, None):
        await store.hdel(keys.MEDIA_EVENTS, event_id)


async def orphaned(store: Store, now: float) -> list[str]:
    """The events with media whose owner is no longer in office (its node died)."""
    out = []
    for event_id in await store.hgetall(keys.MEDIA_EVENTS):
        found = await owner(store, event_id)
        if found is None:  # released or deleted meanwhile
            await store.hdel(keys.MEDIA_EVENTS, event_id)
        elif not await in_office(store, found, now):
            out.append(event_id)
    return out
