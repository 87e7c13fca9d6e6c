"""The embedded store's journal: flushed within the bound without `close`, a torn last
record, compaction in the background while writes go on, and a compaction cut short."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from room import store_journal
from room.store_journal import SNAPSHOT, Journal, segment_name
from room.store_memory import MemoryStore
from room.store_state import State


def copy_as_killed(src: Path, dst: Path) -> Path:
    """The data directory as a kill -9 would leave it now (without the lock)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".tribune.lock"))
    return dst


async def reopen(path: Path) -> MemoryStore:
    s = MemoryStore(path)
    await s.start()
    return s


async def test_writes_are_on_disk_within_a_second_without_close(tmp_path: Path) -> None:
    a = await reopen(tmp_path / "a")
    await a.set("k", b"v")
    await a.hset("h", "f", b"1")
    await a.incr("n", 3)
    await asyncio.sleep(1.0)
    b = await reopen(copy_as_killed(tmp_path / "a", tmp_path / "b"))
    assert await b.get("k") == b"v" and await b.hget("h", "f") == b"1"
    assert await b.incr("n") == 4
    await b.close()
    await a.close()


async def test_a_torn_last_record_ends_the_replay(tmp_path: Path) -> None:
    a = await reopen(tmp_path / "a")
    await a.set("first", b"1")
    await asyncio.sleep(0.6)
    await a.set("second", b"2")
    await asyncio.sleep(0.6)
    killed = copy_as_killed(tmp_path / "a", tmp_path / "b")
    await a.close()
    segment = max(killed.glob("tribune-journal-*.log"))
    data = segment.read_bytes()
    segment.write_bytes(data[:-3])  # the kill cut the last record
    b = await reopen(killed)
    assert await b.get("first") == b"1" and await b.get("second") is None
    await b.set("third", b"3")  # appended after the torn bytes? no: in a new segment
    await b.close()
    c = await reopen(killed)
    assert await c.get("first") == b"1" and await c.get("third") == b"3"
    await c.close()


async def test_compaction_runs_in_the_background_while_writes_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_journal, "COMPACT_MIN_BYTES", 2000)
    a = MemoryStore(tmp_path / "a", snapshot_every=0.1)
    await a.start()
    for i in range(400):
        await a.hset("h", str(i), b"x" * 50)
        await a.rpush("l", str(i).encode())
        if i % 20 == 0:
            await asyncio.sleep(0.15)
    await asyncio.sleep(1.0)
    assert (tmp_path / "a" / SNAPSHOT).exists()  # compacted without close
    segments = list((tmp_path / "a").glob("tribune-journal-*.log"))
    assert len(segments) <= 3, segments  # the folded ones are gone
    b = await reopen(copy_as_killed(tmp_path / "a", tmp_path / "b"))
    assert await b.hlen("h") == 400
    assert await b.lrange("l") == [str(i).encode() for i in range(400)]
    await b.close()
    await a.close()


def test_a_compaction_cut_short_after_the_rename_replays_nothing_twice(tmp_path: Path) -> None:
    """The new snapshot is in place but the segments it holds were not deleted yet."""
    j = Journal(tmp_path)
    state = State()
    j.open(state)
    j.flush(b"".join(store_journal.pack(["incr", "n", 1]) for _ in range(5)))
    closed = j.rotate()
    kept = (tmp_path / segment_name(closed)).read_bytes()
    j.compact(closed)
    j.close()
    (tmp_path / segment_name(closed)).write_bytes(kept)  # as if unlink never happened
    again = State()
    reopened = Journal(tmp_path)
    reopened.open(again)
    reopened.close()
    assert again.kv["n"] == b"5"
    assert not (tmp_path / segment_name(closed)).exists()
