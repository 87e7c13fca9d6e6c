"""One contract suite for every store backend (memory and a real redis-server)."""

from __future__ import annotations

import asyncio

import pytest

from room.store import INF, Store


async def test_values_and_counters(store: Store) -> None:
    assert await store.get("k") is None
    await store.set("k", b"v")
    assert await store.get("k") == b"v"
    assert not await store.set_nx("k", b"w")
    assert await store.set_nx("k2", b"w")
    assert await store.incr("n") == 1
    assert await store.incr("n", 5) == 6
    assert await store.delete("k", "k2", "missing") == 2
    assert await store.get("k") is None


async def test_hashes_and_compare_and_set(store: Store) -> None:
    assert await store.hsetnx("h", "a", b"1")
    assert not await store.hsetnx("h", "a", b"2")
    assert await store.hswap("h", "a", b"3") == b"1"
    assert await store.hswap("h", "b", b"4") is None
    assert await store.hmget("h", ["a", "b", "c"]) == [b"3", b"4", None]
    assert not await store.hcas("h", "a", b"1", b"5")
    assert await store.hcas("h", "a", b"3", b"5")
    assert await store.hcas("h", "new", None, b"x")
    assert not await store.hcas("h", "new", None, b"y")
    assert await store.hcas("h", "new", b"x", None)
    assert await store.hget("h", "new") is None
    assert await store.hgetall("h") == {"a": b"5", "b": b"4"}
    assert await store.hlen("h") == 2
    assert await store.hdel("h", "a")
    assert not await store.hdel("h", "a")


async def test_throttle_is_atomic_under_concurrency(store: Store) -> None:
    # 300 simultaneous actions against a burst of 100: exactly 100 pass, the rest wait.
    waits = await asyncio.gather(*(store.hthrottle("rl", "ip", 6.0, 6.0 * 99, 1000.0) for _ in range(300)))
    assert sum(1 for w in waits if w == 0) == 100
    assert min(w for w in waits if w > 0) == pytest.approx(6.0)
    assert await store.hthrottle("rl", "other", 6.0, 0.0, 1000.0) == 0


async def test_ordered_sets_keep_score_order(store: Store) -> None:
    assert await store.zadd("z", "b", 2.0)
    assert await store.zadd("z", "a", 1.0)
    assert not await store.zadd("z", "a", 5.0, nx=True)
    assert await store.zrange("z") == [("a", 1.0), ("b", 2.0)]
    assert await store.zcard("z") == 2
    assert await store.zpopmin("z") == ("a", 1.0)
    assert await store.zrem("z", "b")
    assert await store.zpopmin("z") is None


async def test_lists(store: Store) -> None:
    for i in range(5):
        await store.rpush("l", str(i).encode())
    assert await store.lrange("l") == [b"0", b"1", b"2", b"3", b"4"]
    assert await store.lrange("l", 1, 2) == [b"1", b"2"]


async def test_revision_log_replays_or_reports_a_gap(store: Store) -> None:
    for i in range(10):
        assert await store.log_append("log", f"e{i}".encode(), keep=4) == i + 1
    current, entries = await store.log_since("log", 8)
    assert current == 10
    assert entries == [(9, b"e8"), (10, b"e9")]
    assert (await store.log_since("log", 10)) == (10, [])
    assert (await store.log_since("log", 2))[1] is None  # trimmed: caller needs a snapshot
    assert (await store.log_since("log", 6))[1] == [(7, b"e6"), (8, b"e7"), (9, b"e8"), (10, b"e9")]


async def test_slots_respect_capacity_and_are_idempotent(store: Store) -> None:
    assert await store.slot_reserve("p", "a", 2)
    assert await store.slot_reserve("p", "a", 2)  # already in: still ok, not counted twice
    assert await store.slot_reserve("p", "b", 2)
    assert not await store.slot_reserve("p", "c", 2)
    assert await store.slot_count("p") == 2
    assert await store.slot_release("p", "a")
    assert await store.slot_reserve("p", "c", 2)
    assert await store.slot_members("p") == {"b", "c"}
    assert await store.slot_reserve("unlimited", "x", None)


async def test_500_concurrent_reservations_admit_exactly_the_capacity(store: Store) -> None:
    results = await asyncio.gather(
        *(store.slot_reserve("seats", f"m{i}", 100, f"h{i}") for i in range(500))
    )
    assert sum(results) == 100
    assert await store.slot_count("seats") == 100


async def test_holders_release_everything_they_reserved_when_they_expire(store: Store) -> None:
    await store.holder_touch(["ev|alice"], 100.0)
    await store.slot_reserve("seats", "alice", 10, "ev|alice")
    await store.slot_reserve("stage", "alice", 1, "ev|alice")
    await store.holder_touch(["ev|bob"], 200.0)
    await store.slot_reserve("seats", "bob", 10, "ev|bob")
    await store.holder_touch(["ev|org"], INF)
    await store.slot_reserve("seats", "org", 10, "ev|org")
    assert await store.holder_slots("ev|alice") == [("seats", "alice"), ("stage", "alice")]
    assert await store.holder_expire(50.0) == []
    expired = await store.holder_expire(150.0)
    assert expired == [("ev|alice", [("seats", "alice"), ("stage", "alice")])]
    assert await store.slot_members("seats") == {"bob", "org"}
    assert await store.slot_count("stage") == 0
    await store.holder_touch(["ev|bob"], 1000.0)  # renewed: survives
    assert await store.holder_expire(300.0) == []
    assert await store.holder_expire(1e12) == [("ev|bob", [("seats", "bob")])]
    assert await store.slot_members("seats") == {"org"}  # INF never expires
    assert await store.holder_release("ev|org") == [("seats", "org")]
    assert await store.slot_count("seats") == 0


async def test_slot_release_forgets_the_holder_entry(store: Store) -> None:
    await store.holder_touch(["h"], 10.0)
    await store.slot_reserve("a", "m", None, "h")
    await store.slot_reserve("b", "m", None, "h")
    await store.slot_release("a", "m", "h")
    assert await store.holder_slots("h") == [("b", "m")]
    assert await store.holder_expire(20.0) == [("h", [("b", "m")])]
