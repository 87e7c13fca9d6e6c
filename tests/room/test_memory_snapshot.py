"""The embedded store survives a restart through its snapshot, and locks its data directory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import msgpack
import pytest

from room.store_memory import LOCK, SNAPSHOT, MemoryStore, StoreLocked

EMPTY = {"v": 1, "kv": {}, "hashes": {}, "zsets": {}, "lists": {}, "pools": {}, "held": {}, "deadlines": []}


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


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("existing", [False, True])
async def test_the_data_directory_and_its_files_are_private(tmp_path: Path, existing: bool) -> None:
    """The snapshot holds the signing secret: only the server's user may read it."""
    data = tmp_path / "data"
    if existing:  # made earlier with the usual 0755 (or by an older version), files 0644
        data.mkdir(mode=0o755)
        os.chmod(data, 0o755)
        for name in (SNAPSHOT, SNAPSHOT + ".tmp", LOCK):
            (data / name).write_bytes(msgpack.packb(EMPTY) if name == SNAPSHOT else b"")
            os.chmod(data / name, 0o644)
    old = os.umask(0o022)
    try:
        s = MemoryStore(data)
        await s.start()
        assert _mode(data) == 0o700
        assert _mode(data / LOCK) == 0o600
        if existing:  # readable by others until the first snapshot: closed at once
            assert _mode(data / SNAPSHOT) == 0o600
        await s.set("secret", b"s3cret")
        s.snapshot()
        assert _mode(data / SNAPSHOT) == 0o600
        await s.close()
    finally:
        os.umask(old)
    for path in data.iterdir():
        assert _mode(path) == 0o600, path.name
