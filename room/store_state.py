"""The embedded store's data and its mutations, as plain synchronous code.

`MemoryStore` runs these on the event loop; the journal (`room.store_journal`) records
each mutation as `[name, *args]` and replays it through `apply` at start and when it
compacts. Every mutation is therefore deterministic given its arguments (times are
passed in, never read here), and bumps `changes` only when it changed something, so
that a call that changed nothing is not journaled.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from typing import Any

from room.store import INF, SlotEntry

MUTATIONS = frozenset(
    {
        "set", "set_nx", "delete", "incr", "expire_at",
        "hset", "hsetnx", "hswap", "hcas", "hthrottle", "hdel",
        "zadd", "zrem", "zpopmin", "rpush", "log_append",
        "slot_reserve", "slot_release", "holder_touch", "holder_expire", "holder_release",
    }
)  # fmt: skip
"""The methods of `State` a journal record may name."""


class ZSet:
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


class State:
    def __init__(self) -> None:
        self.kv: dict[str, bytes] = {}
        self.hashes: dict[str, dict[str, bytes]] = {}
        self.zsets: dict[str, ZSet] = {}
        self.lists: dict[str, list[bytes]] = {}
        self.pools: dict[str, set[str]] = {}
        self.held: dict[str, set[SlotEntry]] = {}
        self.deadlines = ZSet()
        self.expiry: dict[str, float] = {}
        """Key -> the wall-clock time it expires at (`Store.expire`)."""
        self.changes = 0

    def apply(self, op: str, args: Sequence[Any]) -> Any:
        if op not in MUTATIONS:
            raise ValueError(f"unknown journal operation {op!r}")
        return getattr(self, op)(*args)

    def _touch(self) -> None:
        self.changes += 1

    def exists(self, key: str) -> bool:
        return any(key in s for s in (self.kv, self.hashes, self.zsets, self.lists, self.pools))

    def expired(self, at: float) -> list[str]:
        return [k for k, t in self.expiry.items() if t <= at]

    # -- plain values ------------------------------------------------------------
    def set(self, key: str, value: bytes, expires_at: float | None = None) -> None:
        self.kv[key] = value
        if expires_at is None:
            self.expiry.pop(key, None)  # as in Redis, SET forgets an earlier TTL
        else:
            self.expiry[key] = expires_at
        self._touch()

    def set_nx(self, key: str, value: bytes, expires_at: float | None = None) -> bool:
        if key in self.kv:
            return False
        self.set(key, value, expires_at)
        return True

    def delete(self, *keys: str) -> int:
        n = 0
        for key in keys:
            self.expiry.pop(key, None)
            for space in (self.kv, self.hashes, self.zsets, self.lists, self.pools):
                if space.pop(key, None) is not None:
                    n += 1
        if n:
            self._touch()
        return n

    def incr(self, key: str, by: int = 1) -> int:
        value = int(self.kv.get(key, b"0")) + by
        self.kv[key] = str(value).encode()
        self._touch()
        return value

    def expire_at(self, key: str, at: float) -> bool:
        if not self.exists(key):
            return False
        self.expiry[key] = at
        self._touch()
        return True

    # -- hashes ----------------------------------------------------------------
    def hset(self, key: str, field: str, value: bytes) -> None:
        self.hashes.setdefault(key, {})[field] = value
        self._touch()

    def hsetnx(self, key: str, field: str, value: bytes) -> bool:
        h = self.hashes.setdefault(key, {})
        if field in h:
            return False
        h[field] = value
        self._touch()
        return True

    def hswap(self, key: str, field: str, value: bytes) -> bytes | None:
        h = self.hashes.setdefault(key, {})
        old = h.get(field)
        h[field] = value
        self._touch()
        return old

    def hcas(self, key: str, field: str, expected: bytes | None, value: bytes | None) -> bool:
        h = self.hashes.setdefault(key, {})
        if h.get(field) != expected:
            return False
        if value is None:
            h.pop(field, None)
        else:
            h[field] = value
        self._touch()
        return True

    def hthrottle(self, key: str, field: str, every: float, tolerance: float, at: float) -> float:
        h = self.hashes.setdefault(key, {})
        raw = h.get(field)
        tat = max(float(raw) if raw is not None else at, at)
        if tat - at > tolerance:
            return tat - tolerance - at
        h[field] = repr(tat + every).encode()
        self._touch()
        return 0.0

    def hdel(self, key: str, field: str) -> bool:
        h = self.hashes.get(key)
        if h is None or field not in h:
            return False
        del h[field]
        if not h:
            del self.hashes[key]
        self._touch()
        return True

    # -- ordered sets and lists -------------------------------------------------------
    def zadd(self, key: str, member: str, score: float, nx: bool = False) -> bool:
        z = self.zsets.setdefault(key, ZSet())
        if nx and member in z.scores:
            return False
        self._touch()
        return z.add(member, score)

    def zrem(self, key: str, member: str) -> bool:
        z = self.zsets.get(key)
        if z is None or not z.remove(member):
            return False
        self._touch()
        return True

    def zpopmin(self, key: str) -> tuple[str, float] | None:
        z = self.zsets.get(key)
        if z is None or not z.order:
            return None
        score, member = z.order[0]
        z.remove(member)
        self._touch()
        return member, score

    def rpush(self, key: str, value: bytes) -> int:
        items = self.lists.setdefault(key, [])
        items.append(value)
        self._touch()
        return len(items)

    def log_append(self, key: str, entry: bytes, keep: int) -> int:
        rev = self.incr(key + ":rev")
        items = self.lists.setdefault(key + ":log", [])
        items.append(entry)
        if len(items) > keep:
            del items[: len(items) - keep]
        return rev

    # -- slots and holders ---------------------------------------------------------
    def slot_reserve(self, pool: str, member: str, cap: int | None, holder: str | None) -> bool:
        members = self.pools.setdefault(pool, set())
        if member not in members:
            if cap is not None and len(members) >= cap:
                return False
            members.add(member)
        if holder is not None:
            self.held.setdefault(holder, set()).add((pool, member))
        self._touch()
        return True

    def slot_release(self, pool: str, member: str, holder: str | None) -> bool:
        members = self.pools.get(pool)
        found = members is not None and member in members
        if members is not None:
            members.discard(member)
        if holder is not None and holder in self.held:
            self.held[holder].discard((pool, member))
        self._touch()
        return found

    def holder_touch(self, holders: Sequence[str], expires_at: float) -> None:
        for h in holders:
            self.deadlines.add(h, expires_at)
        if holders:
            self._touch()

    def holder_expire(self, now: float, limit: int) -> list[tuple[str, list[SlotEntry]]]:
        out: list[tuple[str, list[SlotEntry]]] = []
        while self.deadlines.order and len(out) < limit:
            deadline, holder = self.deadlines.order[0]
            if deadline > now or deadline == INF:
                break
            out.append((holder, self.holder_release(holder)))
        return out

    def holder_release(self, holder: str) -> list[SlotEntry]:
        known = self.deadlines.remove(holder)
        entries = sorted(self.held.pop(holder, ()))
        for pool, member in entries:
            members = self.pools.get(pool)
            if members is not None:
                members.discard(member)
        if known or entries:
            self._touch()
        return entries

    # -- snapshots -------------------------------------------------------------------
    def records(self) -> Iterator[list[Any]]:
        """Everything, one small record at a time (`[space, key, value]`), for `load`."""
        for k, v in self.kv.items():
            yield ["kv", k, v]
        for k, h in self.hashes.items():
            yield ["h", k, h]
        for k, z in self.zsets.items():
            yield ["z", k, list(z.scores.items())]
        for k, items in self.lists.items():
            yield ["l", k, items]
        for k, members in self.pools.items():
            yield ["p", k, sorted(members)]
        for k, entries in self.held.items():
            yield ["held", k, sorted(entries)]
        for m, s in self.deadlines.scores.items():
            yield ["d", m, s]
        for k, t in self.expiry.items():
            yield ["x", k, t]

    def load(self, record: Sequence[Any]) -> None:
        space, key, value = record
        if space == "kv":
            self.kv[key] = value
        elif space == "h":
            self.hashes[key] = dict(value)
        elif space == "z":
            z = self.zsets[key] = ZSet()
            for m, s in value:
                z.add(m, s)
        elif space == "l":
            self.lists[key] = list(value)
        elif space == "p":
            self.pools[key] = set(value)
        elif space == "held":
            self.held[key] = {(p, m) for p, m in value}
        elif space == "d":
            self.deadlines.add(key, value)
        elif space == "x":
            self.expiry[key] = value
        else:
            raise ValueError(f"unknown snapshot record {space!r}")

    def load_legacy(self, state: dict[str, Any]) -> None:
        """The whole-state snapshot of earlier versions (`"v": 1`)."""
        for k, v in state["kv"].items():
            self.load(["kv", k, v])
        for space, name in (("h", "hashes"), ("z", "zsets"), ("l", "lists"), ("p", "pools")):
            for k, v in state[name].items():
                self.load([space, k, v])
        for k, v in state["held"].items():
            self.load(["held", k, v])
        for m, s in state["deadlines"]:
            self.load(["d", m, s])
