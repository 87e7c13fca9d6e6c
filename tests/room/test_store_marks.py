"""The store's capped insert and counted marks, on both backends, under concurrency."""

from __future__ import annotations

import asyncio

from room.store import Store


async def test_capped_insert_sets_once_and_refuses_a_full_hash(store: Store) -> None:
    assert await store.hsetnx_capped("h", "a", b"1", 2) is True
    assert await store.hsetnx_capped("h", "a", b"2", 2) is False  # there: kept, not counted
    assert await store.hget("h", "a") == b"1"
    assert await store.hsetnx_capped("h", "b", b"3", 2) is True
    assert await store.hsetnx_capped("h", "c", b"4", 2) is None
    assert await store.hsetnx_capped("h", "a", b"5", 2) is False  # full, but there: not full
    assert await store.hdel("h", "b")
    assert await store.hsetnx_capped("h", "c", b"4", 2) is True
    assert await store.hgetall("h") == {"a": b"1", "c": b"4"}


async def test_200_concurrent_capped_inserts_admit_exactly_the_cap(store: Store) -> None:
    done = await asyncio.gather(*(store.hsetnx_capped("q", f"f{i}", b"x", 50) for i in range(200)))
    assert done.count(True) == 50 and done.count(None) == 150
    assert await store.hlen("q") == 50


async def test_a_mark_counts_once_and_unmarking_uncounts(store: Store) -> None:
    assert await store.hmark("voted:bob", "q1", True, "counts", "q1") == (True, 1)
    assert await store.hmark("voted:bob", "q1", True, "counts", "q1") == (False, 1)
    assert await store.hmark("voted:eve", "q1", True, "counts", "q1") == (True, 2)
    assert await store.hmark("voted:bob", "q1", False, "counts", "q1") == (True, 1)
    assert await store.hmark("voted:bob", "q1", False, "counts", "q1") == (False, 1)
    assert await store.hget("voted:bob", "q1") is None
    assert await store.hget("voted:eve", "q1") == b"1"
    assert await store.hget("counts", "q1") == b"1"
    assert await store.hmark("voted:bob", "q2", False, "counts", "q2") == (False, 0)


async def test_hundreds_of_concurrent_marks_give_the_exact_count(store: Store) -> None:
    voters = [f"v{i}" for i in range(300)]
    first = await asyncio.gather(*(store.hmark(f"m:{v}", "q", True, "c", "q") for v in voters))
    again = await asyncio.gather(
        *(store.hmark(f"m:{v}", "q", True, "c", "q") for v in voters[:100]),
        *(store.hmark(f"m:{v}", "q", False, "c", "q") for v in voters[200:]),
        *(store.hmark(f"m:{v}", "q", False, "c", "q") for v in voters[200:]),
    )
    assert sum(changed for changed, _ in first) == 300
    assert sorted(n for _, n in first) == list(range(1, 301))  # each step saw its own count
    assert sum(changed for changed, _ in again) == 100  # each unmark once, each repeat never
    assert await store.hget("c", "q") == b"200"
