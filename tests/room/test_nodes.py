"""The node registry and media ownership on both stores: one owner per event, even when
hundreds of nodes claim at once; a lapsed owner is replaced exactly once, with a new epoch."""

from __future__ import annotations

import asyncio

from room import nodes
from room.store import Store

TTL = 3.0


async def test_the_first_claim_wins_and_every_other_gets_the_winner(store: Store) -> None:
    for i in range(200):
        await nodes.heartbeat(store, f"n{i}", "127.0.0.1", TTL, 100.0)
    claims = await asyncio.gather(
        *(nodes.claim(store, "ev1", f"n{i}", TTL, 100.0) for i in range(200))
    )
    owners = {c.owner for c in claims}
    assert len(owners) == 1, owners
    assert not any(c.took_over for c in claims)
    assert await nodes.owner(store, "ev1") == owners.pop()


async def test_a_lapsed_owner_is_taken_over_once_with_a_new_epoch(store: Store) -> None:
    for n in ("a", "b", "c"):
        await nodes.heartbeat(store, n, "127.0.0.1", TTL, 100.0)
    first = (await nodes.claim(store, "ev1", "a", TTL, 100.0)).owner
    assert await nodes.orphaned(store, 101.0) == []
    # a keeps beating and renewing: b and c cannot take the event
    await nodes.heartbeat(store, "a", "127.0.0.1", TTL, 102.0)
    first = await nodes.renew(store, "ev1", first, TTL, 102.0) or first
    assert (await nodes.claim(store, "ev1", "b", TTL, 104.0)).owner == first
    # a dies (no heartbeat, no renewal); b and c carry on
    for n in ("b", "c"):
        await nodes.heartbeat(store, n, "127.0.0.1", TTL, 106.0)
    assert await nodes.orphaned(store, 106.0) == ["ev1"]
    claims = await asyncio.gather(
        *(nodes.claim(store, "ev1", n, TTL, 106.0) for n in ("b", "c", "b", "c"))
    )
    winners = {c.owner for c in claims}
    assert len(winners) == 1
    new = winners.pop()
    assert new.node in ("b", "c") and new.epoch != first.epoch
    assert sum(c.took_over for c in claims) == 1
    # the old owner cannot renew what it lost, and a node coming back does not take it back
    assert await nodes.renew(store, "ev1", first, TTL, 106.5) is None
    await nodes.heartbeat(store, "a", "127.0.0.1", TTL, 106.5)
    assert (await nodes.claim(store, "ev1", "a", TTL, 106.5)).owner == new


async def test_an_owner_whose_node_left_the_registry_is_replaced(store: Store) -> None:
    for n in ("a", "b"):
        await nodes.heartbeat(store, n, "10.0.0.1", TTL, 100.0)
    first = (await nodes.claim(store, "ev1", "a", TTL, 100.0)).owner
    await nodes.leave(store, "a")  # a stopped: no need to wait for its lease
    assert await nodes.orphaned(store, 100.5) == ["ev1"]
    assert (await nodes.claim(store, "ev1", "b", TTL, 100.5)).owner.node == "b"
    assert [n.id for n in await nodes.live_nodes(store, 100.5)] == ["b"]
    assert first.node == "a"


async def test_hand_over_and_release(store: Store) -> None:
    for n in ("a", "b"):
        await nodes.heartbeat(store, n, "127.0.0.1", TTL, 100.0)
    mine = (await nodes.claim(store, "ev1", "a", TTL, 100.0)).owner
    theirs = await nodes.hand_over(store, "ev1", mine, "b", TTL, 100.0)
    assert theirs is not None and theirs.node == "b" and theirs.epoch != mine.epoch
    assert await nodes.hand_over(store, "ev1", mine, "b", TTL, 100.0) is None  # not a's now
    await nodes.release(store, "ev1", mine)  # not a's: nothing happens
    assert await nodes.owner(store, "ev1") == theirs
    await nodes.release(store, "ev1", theirs)
    assert await nodes.owner(store, "ev1") is None
    assert await nodes.orphaned(store, 100.0) == []
    # lapsed nodes leave the registry
    assert await nodes.live_nodes(store, 200.0) == []
