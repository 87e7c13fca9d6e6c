"""The embedded store: one process, all in memory, snapshot to disk periodically and on close.

Every method runs without awaiting in between reading and writing, so on one
event loop each is a critical section: that is what makes reservations atomic.
"""

from __future__ import annotations

import asyncio
import bisect
import builtins
import fcntl
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgpack

from room import files, tasks
from room.store import INF, SlotEntry
from room.store_marks import MemoryMarks

log = logging.getLogger(__name__)

SNAPSHOT = "tribune-snapshot.msgpack"
LOCK = ".tribune.lock"


class StoreLocked(RuntimeError):
    """Another process is using this data directory."""


class _ZSet:
    """Members ordered by (score, member) with O(log n) lookups by order."""

    __slots__ = ("order", "scores")

    def __init__(self) -> None:
        self.scores: dict[str, float] = {}
        self.order: list[tuple[float, str]] = []

    def add(self, member: str, score: float) -> bool:
        old = self.scores.get(member)
        if old is not None:
            self.order.pop(bisect.bisect_left(self.order, (old, member)))
        self.scores[member] = score
        bisect.insort(self.order, (score, member))
        return old is None

    def remove(self, member: str) -> bool:
        old = self.scores.pop(member, None)
        if old is None:
            return False
        self.order.pop(bisect.bisect_left(self.order, (old, member)))
        return True


class MemoryStore(MemoryMarks):
    def __init__(self, data_dir: str | os.PathLike[str] | None = None, snapshot_every: float = 5.0):
        self._dir = Path(data_dir) if data_dir is not None else None
        self._every = snapshot_every
        self._kv: dict[str, bytes] = {}
        self._hashes: dict[str, dict[str, bytes]] = {}
        self._zsets: dict[str, _ZSet] = {}
        self._lists: dict[str, list[bytes]] = {}
        self._pools: dict[str, set[str]] = {}
        self._held: dict[str, set[SlotEntry]] = {}
        self._deadlines = _ZSet()
        self._dirty = False
        self._task: asyncio.Task[None] | None = None
        self._lock: int | None = None

    # -- lifecycle ---------------------------------------------------------------
    async def start(self) -> None:
        if self._dir is None:
            return
        files.private_dir(self._dir)  # the snapshot holds the signing secret
        files.make_private(self._dir / SNAPSHOT)
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
        self._load()
        self._task = asyncio.create_task(self._snapshot_loop())

    async def close(self) -> None:
        if self._task is not None:
            await tasks.stop(self._task)
            self._task = None
        self.snapshot()
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    async def ping(self) -> bool:
        return True

    async def _snapshot_loop(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            if self._dirty:
                try:
                    self.snapshot()
                except OSError:
                    log.exception("snapshot failed")

    def snapshot(self) -> None:
        """Write everything to the data directory atomically (temp file, then rename)."""
        if self._dir is None:
            return
        state: dict[str, Any] = {
            "v": 1,
            "kv": self._kv,
            "hashes": self._hashes,
            "zsets": {k: list(z.scores.items()) for k, z in self._zsets.items()},
            "lists": self._lists,
            "pools": {k: sorted(v) for k, v in self._pools.items()},
            "held": {k: sorted(v) for k, v in self._held.items()},
            "deadlines": list(self._deadlines.scores.items()),
        }
        data = msgpack.packb(state, use_bin_type=True)
        tmp = self._dir / (SNAPSHOT + ".tmp")
        files.write_private(tmp, data)
        os.replace(tmp, self._dir / SNAPSHOT)
        self._dirty = False

    def _load(self) -> None:
        assert self._dir is not None
        path = self._dir / SNAPSHOT
        if not path.exists():
            return
        state = msgpack.unpackb(path.read_bytes(), raw=False, strict_map_key=False)
        self._kv = dict(state["kv"])
        self._hashes = {k: dict(v) for k, v in state["hashes"].items()}
        for k, items in state["zsets"].items():
            z = self._zsets[k] = _ZSet()
            for m, s in items:
                z.add(m, s)
        self._lists = {k: list(v) for k, v in state["lists"].items()}
        self._pools = {k: set(v) for k, v in state["pools"].items()}
        self._held = {k: {(p, m) for p, m in v} for k, v in state["held"].items()}
        for m, s in state["deadlines"]:
            self._deadlines.add(m, s)

    def _touch(self) -> None:
        self._dirty = True

    # -- plain values ------------------------------------------------------------
    async def get(self, key: str) -> bytes | None:
        return self._kv.get(key)

    async def set(self, key: str, value: bytes) -> None:
        self._kv[key] = value
        self._touch()

    async def set_nx(self, key: str, value: bytes) -> bool:
        if key in self._kv:
            return False
        self._kv[key] = value
        self._touch()
        return True

    async def delete(self, *keys: str) -> int:
        n = 0
        for key in keys:
            for space in (self._kv, self._hashes, self._zsets, self._lists, self._pools):
                if space.pop(key, None) is not None:
                    n += 1
        self._touch()
        return n

    async def incr(self, key: str, by: int = 1) -> int:
        value = int(self._kv.get(key, b"0")) + by
        self._kv[key] = str(value).encode()
        self._touch()
        return value

    # -- hashes ----------------------------------------------------------------
    async def hget(self, key: str, field: str) -> bytes | None:
        return self._hashes.get(key, {}).get(field)

    async def hmget(self, key: str, fields: Sequence[str]) -> list[bytes | None]:
        h = self._hashes.get(key, {})
        return [h.get(f) for f in fields]

    async def hset(self, key: str, field: str, value: bytes) -> None:
        self._hashes.setdefault(key, {})[field] = value
        self._touch()

    async def hsetnx(self, key: str, field: str, value: bytes) -> bool:
        h = self._hashes.setdefault(key, {})
        if field in h:
            return False
        h[field] = value
        self._touch()
        return True

    async def hswap(self, key: str, field: str, value: bytes) -> bytes | None:
        h = self._hashes.setdefault(key, {})
        old = h.get(field)
        h[field] = value
        self._touch()
        return old

    async def hcas(self, key: str, field: str, expected: bytes | None, value: bytes | None) -> bool:
        h = self._hashes.setdefault(key, {})
        if h.get(field) != expected:
            return False
        if value is None:
            h.pop(field, None)
        else:
            h[field] = value
        self._touch()
        return True

    async def hthrottle(
        self, key: str, field: str, every: float, tolerance: float, at: float
    ) -> float:
        h = self._hashes.setdefault(key, {})
        raw = h.get(field)
        tat = max(float(raw) if raw is not None else at, at)
        if tat - at > tolerance:
            return tat - tolerance - at
        h[field] = repr(tat + every).encode()
        self._touch()
        return 0.0

    async def hdel(self, key: str, field: str) -> bool:
        h = self._hashes.get(key)
        if h is None or field not in h:
            return False
        del h[field]
        if not h:
            del self._hashes[key]
        self._touch()
        return True

    async def hgetall(self, key: str) -> dict[str, bytes]:
        return dict(self._hashes.get(key, {}))

    async def hlen(self, key: str) -> int:
        return len(self._hashes.get(key, {}))

    # -- ordered sets ------------------------------------------------------------
    async def zadd(self, key: str, member: str, score: float, nx: bool = False) -> bool:
        z = self._zsets.setdefault(key, _ZSet())
        if nx and member in z.scores:
            return False
        self._touch()
        return z.add(member, score)

    async def zrem(self, key: str, member: str) -> bool:
        z = self._zsets.get(key)
        if z is None:
            return False
        self._touch()
        return z.remove(member)

    async def zrange(self, key: str, start: int = 0, stop: int = -1) -> list[tuple[str, float]]:
        z = self._zsets.get(key)
        if z is None:
            return []
        end = None if stop == -1 else stop + 1
        return [(m, s) for s, m in z.order[start:end]]

    async def zpopmin(self, key: str) -> tuple[str, float] | None:
        z = self._zsets.get(key)
        if z is None or not z.order:
            return None
        score, member = z.order[0]
        z.remove(member)
        self._touch()
        return member, score

    async def zcard(self, key: str) -> int:
        z = self._zsets.get(key)
        return 0 if z is None else len(z.scores)

    # -- lists -----------------------------------------------------------------
    async def rpush(self, key: str, value: bytes) -> int:
        items = self._lists.setdefault(key, [])
        items.append(value)
        self._touch()
        return len(items)

    async def lrange(self, key: str, start: int = 0, stop: int = -1) -> list[bytes]:
        items = self._lists.get(key, [])
        end = None if stop == -1 else stop + 1
        return items[start:end]

    # -- revision log ------------------------------------------------------------
    async def log_append(self, key: str, entry: bytes, keep: int) -> int:
        rev = await self.incr(key + ":rev")
        items = self._lists.setdefault(key + ":log", [])
        items.append(entry)
        if len(items) > keep:
            del items[: len(items) - keep]
        return rev

    async def log_since(self, key: str, rev: int) -> tuple[int, list[tuple[int, bytes]] | None]:
        current = int(self._kv.get(key + ":rev", b"0"))
        items = self._lists.get(key + ":log", [])
        return current, _entries_since(current, items, rev)

    # -- slots and holders ---------------------------------------------------------
    async def slot_reserve(
        self, pool: str, member: str, cap: int | None, holder: str | None = None
    ) -> bool:
        members = self._pools.setdefault(pool, set())
        if member not in members:
            if cap is not None and len(members) >= cap:
                return False
            members.add(member)
        if holder is not None:
            self._held.setdefault(holder, set()).add((pool, member))
        self._touch()
        return True

    async def slot_release(self, pool: str, member: str, holder: str | None = None) -> bool:
        members = self._pools.get(pool)
        found = members is not None and member in members
        if members is not None:
            members.discard(member)
        if holder is not None and holder in self._held:
            self._held[holder].discard((pool, member))
        self._touch()
        return found

    async def slot_members(self, pool: str) -> builtins.set[str]:
        return set(self._pools.get(pool, ()))

    async def slot_count(self, pool: str) -> int:
        return len(self._pools.get(pool, ()))

    async def holder_touch(self, holders: Sequence[str], expires_at: float) -> None:
        for h in holders:
            self._deadlines.add(h, expires_at)
        self._touch()

    async def holder_expire(
        self, now: float, limit: int = 500
    ) -> list[tuple[str, list[SlotEntry]]]:
        out: list[tuple[str, list[SlotEntry]]] = []
        while self._deadlines.order and len(out) < limit:
            deadline, holder = self._deadlines.order[0]
            if deadline > now or deadline == INF:
                break
            out.append((holder, self._release_holder(holder)))
        return out

    async def holder_release(self, holder: str) -> list[SlotEntry]:
        return self._release_holder(holder)

    async def holder_slots(self, holder: str) -> list[SlotEntry]:
        return sorted(self._held.get(holder, ()))

    def _release_holder(self, holder: str) -> list[SlotEntry]:
        self._deadlines.remove(holder)
        entries = sorted(self._held.pop(holder, ()))
        for pool, member in entries:
            members = self._pools.get(pool)
            if members is not None:
                members.discard(member)
        self._touch()
        return entries


def _entries_since(
    current: int, items: Sequence[bytes], rev: int
) -> list[tuple[int, bytes]] | None:
    """Entries after `rev`, given the newest `len(items)` entries end at revision `current`."""
    missing = current - rev
    if missing <= 0:
        return []
    if missing > len(items):
        return None
    first = current - len(items) + 1
    return [(first + i, e) for i, e in enumerate(items) if first + i > rev]


entries_since = _entries_since
