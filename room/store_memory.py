"""The embedded store: one process, all in memory, journaled to disk (`room.store_journal`).

Every method runs without awaiting in between reading and writing, so on one event loop
each is a critical section: that is what makes reservations atomic. A mutation is
applied to the `State` and its record handed to the journal at once; a writer task
flushes and fsyncs the journal in a thread every `FLUSH_EVERY` seconds and compacts it
into the snapshot in a thread now and then. A kill -9 loses at most the last second of
acknowledged writes (README, "Durability"). Keys with a TTL (`expire`) vanish when it
passes: checked on every access, and swept once a second.
"""

from __future__ import annotations

import asyncio
import builtins
import fcntl
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from room import files, tasks
from room.store import SlotEntry
from room.store_journal import FLUSH_EVERY, SNAPSHOT, Journal, pack
from room.store_marks import MemoryMarks
from room.store_state import State

log = logging.getLogger(__name__)

LOCK = ".tribune.lock"
PURGE_EVERY = 1.0
"""Seconds between two sweeps of the keys whose TTL passed."""

__all__ = ["LOCK", "SNAPSHOT", "MemoryStore", "StoreLocked", "entries_since"]


class StoreLocked(RuntimeError):
    """Another process is using this data directory."""


class MemoryStore(MemoryMarks):
    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        snapshot_every: float = 5.0,
        flush_every: float = FLUSH_EVERY,
    ):
        self._dir = Path(data_dir) if data_dir is not None else None
        self._every = snapshot_every
        """Seconds between two checks whether the journal is worth compacting."""
        self._flush_every = flush_every
        self._s = State()
        self._journal: Journal | None = None
        self._task: asyncio.Task[None] | None = None
        self._compaction: asyncio.Task[None] | None = None
        self._lock: int | None = None

    # -- lifecycle ---------------------------------------------------------------
    async def start(self) -> None:
        if self._dir is not None:
            files.private_dir(self._dir)  # the snapshot and journal hold the signing secret
            fd = files.open_private(self._dir / LOCK)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise StoreLocked(
                    f"the data directory {self._dir} is in use by a running server; "
                    "stop it first, or share a Redis store (--redis-url)"
                ) from None
            self._lock = fd
            self._journal = Journal(self._dir)
            self._journal.open(self._s)
        self._task = asyncio.create_task(self._writer())

    async def close(self) -> None:
        if self._task is not None:
            await tasks.stop(self._task)
            self._task = None
        if self._compaction is not None:
            await asyncio.gather(self._compaction, return_exceptions=True)
            self._compaction = None
        if self._journal is not None:
            await asyncio.to_thread(_fold, self._journal, self._journal.take())
            self._journal.close()
            self._journal = None
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    async def ping(self) -> bool:
        return True

    async def now(self) -> float:
        return time.time()

    async def _writer(self) -> None:
        loop = asyncio.get_running_loop()
        purged = checked = loop.time()
        while True:
            await asyncio.sleep(self._flush_every)
            if loop.time() - purged >= PURGE_EVERY:
                purged = loop.time()
                self._purge()
            j = self._journal
            if j is None:
                continue
            try:
                if j.pending:
                    await asyncio.to_thread(j.flush, j.take())
                due = loop.time() - checked >= self._every
                if due and self._compaction is None and j.worth_compacting():
                    checked = loop.time()
                    upto = await asyncio.to_thread(j.rotate, j.take())
                    self._compaction = asyncio.create_task(self._compact(j, upto))
            except Exception:
                log.exception("writing the journal failed")

    async def _compact(self, j: Journal, upto: int) -> None:
        try:
            await asyncio.to_thread(j.compact, upto)
        except OSError:
            log.exception("compacting the journal failed")
        finally:
            self._compaction = None

    def snapshot(self) -> None:
        """Flush the journal and fold it into the snapshot now (blocking: for close and tests)."""
        if self._journal is not None:
            _fold(self._journal, self._journal.take())

    # -- applying mutations ----------------------------------------------------------
    def _do(self, op: str, *args: Any) -> Any:
        before = self._s.changes
        result = self._s.apply(op, args)
        if self._journal is not None and self._s.changes != before:
            self._journal.append(pack([op, *args]))
        return result

    def _fresh(self, key: str) -> None:
        """Forget `key` if its TTL passed (before any use of it)."""
        if self._s.expiry:
            at = self._s.expiry.get(key)
            if at is not None and at <= time.time():
                self._do("delete", key)

    def _purge(self) -> None:
        for key in self._s.expired(time.time()):
            self._do("delete", key)

    # -- plain values ------------------------------------------------------------
    async def get(self, key: str) -> bytes | None:
        self._fresh(key)
        return self._s.kv.get(key)

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._do("set", key, value, None if ttl is None else time.time() + ttl)

    async def set_nx(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        self._fresh(key)
        return bool(self._do("set_nx", key, value, None if ttl is None else time.time() + ttl))

    async def delete(self, *keys: str) -> int:
        for key in keys:
            self._fresh(key)  # an expired key is not counted as deleted
        return int(self._do("delete", *keys))

    async def incr(self, key: str, by: int = 1) -> int:
        self._fresh(key)
        return int(self._do("incr", key, by))

    async def expire(self, key: str, seconds: float) -> bool:
        self._fresh(key)
        return bool(self._do("expire_at", key, time.time() + seconds))

    # -- hashes ----------------------------------------------------------------
    async def hget(self, key: str, field: str) -> bytes | None:
        self._fresh(key)
        return self._s.hashes.get(key, {}).get(field)

    async def hmget(self, key: str, fields: Sequence[str]) -> list[bytes | None]:
        self._fresh(key)
        h = self._s.hashes.get(key, {})
        return [h.get(f) for f in fields]

    async def hset(self, key: str, field: str, value: bytes) -> None:
        self._fresh(key)
        self._do("hset", key, field, value)

    async def hsetnx(self, key: str, field: str, value: bytes) -> bool:
        self._fresh(key)
        return bool(self._do("hsetnx", key, field, value))

    async def hswap(self, key: str, field: str, value: bytes) -> bytes | None:
        self._fresh(key)
        old: bytes | None = self._do("hswap", key, field, value)
        return old

    async def hcas(self, key: str, field: str, expected: bytes | None, value: bytes | None) -> bool:
        self._fresh(key)
        return bool(self._do("hcas", key, field, expected, value))

    async def hthrottle(
        self, key: str, field: str, every: float, tolerance: float, at: float
    ) -> float:
        self._fresh(key)
        return float(self._do("hthrottle", key, field, every, tolerance, at))

    async def hdel(self, key: str, field: str) -> bool:
        self._fresh(key)
        return bool(self._do("hdel", key, field))

    async def hgetall(self, key: str) -> dict[str, bytes]:
        self._fresh(key)
        return dict(self._s.hashes.get(key, {}))

    async def hlen(self, key: str) -> int:
        self._fresh(key)
        return len(self._s.hashes.get(key, {}))

    # -- ordered sets ------------------------------------------------------------
    async def zadd(self, key: str, member: str, score: float, nx: bool = False) -> bool:
        self._fresh(key)
        return bool(self._do("zadd", key, member, score, nx))

    async def zrem(self, key: str, member: str) -> bool:
        self._fresh(key)
        return bool(self._do("zrem", key, member))

    async def zrange(self, key: str, start: int = 0, stop: int = -1) -> list[tuple[str, float]]:
        self._fresh(key)
        z = self._s.zsets.get(key)
        if z is None:
            return []
        end = None if stop == -1 else stop + 1
        return [(m, s) for s, m in z.order[start:end]]

    async def zpopmin(self, key: str) -> tuple[str, float] | None:
        self._fresh(key)
        popped = self._do("zpopmin", key)
        return None if popped is None else (popped[0], popped[1])

    async def zcard(self, key: str) -> int:
        self._fresh(key)
        z = self._s.zsets.get(key)
        return 0 if z is None else len(z.scores)

    # -- lists -----------------------------------------------------------------
    async def rpush(self, key: str, value: bytes) -> int:
        self._fresh(key)
        return int(self._do("rpush", key, value))

    async def lrange(self, key: str, start: int = 0, stop: int = -1) -> list[bytes]:
        self._fresh(key)
        items = self._s.lists.get(key, [])
        end = None if stop == -1 else stop + 1
        return items[start:end]

    # -- revision log ------------------------------------------------------------
    async def log_append(self, key: str, entry: bytes, keep: int) -> int:
        return int(self._do("log_append", key, entry, keep))

    async def log_since(self, key: str, rev: int) -> tuple[int, list[tuple[int, bytes]] | None]:
        current = int(self._s.kv.get(key + ":rev", b"0"))
        items = self._s.lists.get(key + ":log", [])
        return current, entries_since(current, items, rev)

    # -- slots and holders ---------------------------------------------------------
    async def slot_reserve(
        self, pool: str, member: str, cap: int | None, holder: str | None = None
    ) -> bool:
        self._fresh(pool)
        return bool(self._do("slot_reserve", pool, member, cap, holder))

    async def slot_release(self, pool: str, member: str, holder: str | None = None) -> bool:
        self._fresh(pool)
        return bool(self._do("slot_release", pool, member, holder))

    async def slot_members(self, pool: str) -> builtins.set[str]:
        self._fresh(pool)
        return set(self._s.pools.get(pool, ()))

    async def slot_count(self, pool: str) -> int:
        self._fresh(pool)
        return len(self._s.pools.get(pool, ()))

    async def holder_touch(self, holders: Sequence[str], expires_at: float) -> None:
        self._do("holder_touch", list(holders), expires_at)

    async def holder_expire(
        self, now: float, limit: int = 500
    ) -> list[tuple[str, list[SlotEntry]]]:
        out: list[tuple[str, list[SlotEntry]]] = self._do("holder_expire", now, limit)
        return out

    async def holder_release(self, holder: str) -> list[SlotEntry]:
        out: list[SlotEntry] = self._do("holder_release", holder)
        return out

    async def holder_slots(self, holder: str) -> list[SlotEntry]:
        return sorted(self._s.held.get(holder, ()))


def _fold(j: Journal, data: bytes) -> None:
    """Write `data` and every closed segment into a new snapshot (blocking)."""
    j.compact(j.rotate(data))


def entries_since(current: int, items: Sequence[bytes], rev: int) -> list[tuple[int, bytes]] | None:
    """Entries after `rev`, given the newest `len(items)` entries end at revision `current`."""
    missing = current - rev
    if missing <= 0:
        return []
    if missing > len(items):
        return None
    first = current - len(items) + 1
    return [(first + i, e) for i, e in enumerate(items) if first + i > rev]
