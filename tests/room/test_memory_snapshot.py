"""The embedded store survives a restart through its snapshot, and locks its data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from room.store_memory import MemoryStore, StoreLocked


async def test_snapshot_round_trip(tmp_path: Path) -> None:
    a = MemoryStore(tmp_path)
    await a.start()
    await a.set("k", b"v")
    await a.hset("h", "f", b"1")
    await a.zadd("z", "m", 1.5)
    await a.rpush("l", b"x")
    await a.slot_reserve("p", "m", 5, "h1")
    await a.holder_touch(["h1"], 99.0)
    await a.log_append("log", b"e", keep=10)
    await a.close()

    b = MemoryStore(tmp_path)
    await b.start()
    assert await b.get("k") == b"v"
    assert await b.hget("h", "f") == b"1"
    assert await b.zrange("z") == [("m", 1.5)]
    assert await b.lrange("l") == [b"x"]
    assert await b.slot_members("p") == {"m"}
    assert await b.log_since("log", 0) == (1, [(1, b"e")])
    assert await b.holder_expire(100.0) == [("h1", [("p", "m")])]
    await b.close()


async def test_a_second_process_cannot_open_a_data_dir_in_use(tmp_path: Path) -> None:
    a = MemoryStore(tmp_path)
    await a.start()
    b = MemoryStore(tmp_path)
    with pytest.raises(StoreLocked):
        await b.start()
    await a.close()
    await b.start()
    await b.close()
