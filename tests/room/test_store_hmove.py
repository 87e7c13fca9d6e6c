"""The store's checked move (`Store.hmove`), on both backends, under concurrency."""

from __future__ import annotations

import asyncio
from pathlib import Path

from room.store import MARKED, Store
from room.store_memory import MemoryStore


async def test_a_move_needs_enough_in_its_source_and_logs_each_step(store: Store) -> None:
    assert await store.hmove("b", None, "pool", 10, "log", b"buy") == 10
    assert await store.hmove("b", "pool", "c1", 4, "log", b"give") == 6
    assert await store.hmove("b", "pool", "c1", 7, "log", b"too much") is None
    assert await store.hmove("b", "c1", None, 4, "log", b"spend") == 0
    assert await store.hmove("b", "c1", "used", 1, "log", b"nothing left") is None
    assert await store.hmove("b", "nope", "c1", 1, "log", b"no source") is None
    assert await store.hgetall("b") == {"pool": b"6", "c1": b"0"}
    assert await store.lrange("log") == [b"buy", b"give", b"spend"]


async def test_50_concurrent_moves_against_a_balance_for_20_move_exactly_20(store: Store) -> None:
    await store.hmove("b", None, "c", 120, "log", b"in")
    done = await asyncio.gather(*(store.hmove("b", "c", "u", 6, "log", b"x") for _ in range(50)))
    assert sum(d is not None for d in done) == 20
    assert sorted(d for d in done if d is not None) == list(range(0, 120, 6))
    assert await store.hgetall("b") == {"c": b"0", "u": b"120"}
    assert len(await store.lrange("log")) == 21


async def test_a_marked_move_is_made_once_and_unmarking_undoes_it_once(store: Store) -> None:
    await store.hmove("b", None, "c", 12, "log", b"in")
    take = ("marks", "reg_1", True)
    done = await asyncio.gather(
        *(store.hmove("b", "c", "u", 6, "log", b"t", take) for _ in range(9))
    )
    assert sorted(done, key=str) == [MARKED] * 8 + [6]
    assert await store.hget("marks", "reg_1") == b"1"
    back = ("marks", "reg_1", False)
    done = await asyncio.gather(
        *(store.hmove("b", "u", "c", 6, "log", b"r", back) for _ in range(5))
    )
    assert sorted(done, key=str) == [MARKED] * 4 + [0]
    assert await store.hget("marks", "reg_1") is None
    assert await store.hmove("b", "c", "u", 13, "log", b"x", ("marks", "reg_2", True)) is None
    assert await store.hget("marks", "reg_2") is None  # refused: not marked either
    assert await store.hgetall("b") == {"c": b"12", "u": b"0"}
    assert await store.lrange("log") == [b"in", b"t", b"r"]


async def test_the_embedded_store_journals_moves(tmp_path: Path) -> None:
    first = MemoryStore(tmp_path / "d")
    await first.start()
    await first.hmove("b", None, "pool", 9, "log", b"in")
    await first.hmove("b", "pool", "c", 5, "log", b"give", ("m", "x", True))
    await first.close()
    again = MemoryStore(tmp_path / "d")
    await again.start()
    try:
        assert await again.hgetall("b") == {"pool": b"4", "c": b"5"}
        assert await again.lrange("log") == [b"in", b"give"]
        assert await again.hget("m", "x") == b"1"
    finally:
        await again.close()
