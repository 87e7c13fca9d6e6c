"""The store interface: the small set of primitives every backend provides atomically.

Domain modules (`room/`, `moderation/`) build on these primitives only, so a
new feature never needs a new backend method. Every method is atomic on its
own; the slot and holder methods are the lease mechanism behind every limit
that must hold under concurrency (seats, stage slots, parallel events).

Slots: a *pool* is a set of members with an optional capacity. `slot_reserve`
adds a member only while the pool has room (idempotent for a member already
in). A reservation may name a *holder* (an identity in an event): the holder
remembers its reservations, and when the holder expires (`holder_touch` sets
its deadline; `holder_expire` sweeps) every reservation it made is released
at once. Connected holders are touched periodically; a disconnect sets the
deadline to the end of the grace period; a dead node stops touching, so its
holders expire by themselves. Leases, not counters: nothing drifts.

A record kept in a hash field is changed through `room.cas.update`, the one
compare-and-set retry loop over `hcas`, rather than a loop of its own.
"""

from __future__ import annotations

import abc
import builtins
from collections.abc import Sequence

INF = float("inf")
MARKED = -1
"""What `Store.hmove` answers when its mark forbids the move."""

SlotEntry = tuple[str, str]
"""(pool, member)"""


class StoreUnavailable(Exception):
    """The store cannot be reached (connection refused, reset or timed out).

    Backends raise this instead of their client library's errors, so that the
    edge can answer ``unavailable`` without knowing which backend runs.
    """


class Store(abc.ABC):
    # -- lifecycle -----------------------------------------------------------
    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open connections, load snapshots, start background work."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Flush and release resources."""

    @abc.abstractmethod
    async def ping(self) -> bool: ...

    @abc.abstractmethod
    async def now(self) -> float:
        """The store's clock (Unix seconds): Redis `TIME`, so that every node sharing the
        store agrees on lease deadlines; the embedded store's is its process's."""

    # -- plain values --------------------------------------------------------
    @abc.abstractmethod
    async def get(self, key: str) -> bytes | None: ...

    @abc.abstractmethod
    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Set `key`; with `ttl`, it vanishes after that many seconds (without, any earlier
        TTL of the key is forgotten)."""

    @abc.abstractmethod
    async def set_nx(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        """Set only if absent (with `ttl` as in `set`); True when this call set it."""

    @abc.abstractmethod
    async def delete(self, *keys: str) -> int: ...

    @abc.abstractmethod
    async def incr(self, key: str, by: int = 1) -> int: ...

    @abc.abstractmethod
    async def expire(self, key: str, seconds: float) -> bool:
        """Make `key` (of any kind) vanish `seconds` from now, whatever is done to it
        meanwhile except `set` and `delete`; False when there is no such key. For keys
        that are only useful for a bounded time, so that storage does not grow with them."""

    # -- hashes --------------------------------------------------------------
    @abc.abstractmethod
    async def hget(self, key: str, field: str) -> bytes | None: ...

    @abc.abstractmethod
    async def hmget(self, key: str, fields: Sequence[str]) -> list[bytes | None]: ...

    @abc.abstractmethod
    async def hset(self, key: str, field: str, value: bytes) -> None: ...

    @abc.abstractmethod
    async def hsetnx(self, key: str, field: str, value: bytes) -> bool: ...

    @abc.abstractmethod
    async def hswap(self, key: str, field: str, value: bytes) -> bytes | None:
        """Set and return the previous value."""

    @abc.abstractmethod
    async def hcas(self, key: str, field: str, expected: bytes | None, value: bytes | None) -> bool:
        """Set (or delete, when `value` is None) only if the current value equals `expected`."""

    @abc.abstractmethod
    async def hdel(self, key: str, field: str) -> bool: ...

    @abc.abstractmethod
    async def hthrottle(
        self, key: str, field: str, every: float, tolerance: float, at: float
    ) -> float:
        """One action of a rate kept as a GCRA arrival time in hash field `field`: 0.0 when
        allowed (the time moves on by `every`), else the seconds until one would be."""

    @abc.abstractmethod
    async def hsetnx_capped(self, key: str, field: str, value: bytes, cap: int) -> bool | None:
        """Set `field` only if it is absent and the hash has fewer than `cap` fields: True
        when this call set it, False when the field was there, None when the hash is full."""

    @abc.abstractmethod
    async def hmark(
        self, key: str, field: str, on: bool, count_key: str, count_field: str
    ) -> tuple[bool, int]:
        """Set (`on`) or delete the mark `field` of hash `key` and, only when that changed
        it, add 1 (or -1) to the integer in `count_key`'s `count_field`: one atomic step.
        Returns whether the mark changed and the count after (0 when never counted)."""

    @abc.abstractmethod
    async def hmove(
        self,
        key: str,
        source: str | None,
        target: str | None,
        amount: int,
        log: str,
        entry: bytes,
        mark: tuple[str, str, bool] | None = None,
    ) -> int | None:
        """Move `amount` (> 0) from the integer in hash field `source` to the one in `target`
        (a missing field holds 0) only if `source` holds at least `amount`, and append
        `entry` to the list `log`: one atomic step. Without `source`, only add to `target`;
        without `target`, only take from `source`. With `mark` (hash, field, on), only if
        that field is absent (`on`; then it is set) or present (not `on`; then it is
        deleted): a move made once per thing. Returns what `source` holds after (`target`,
        without `source`); None when it held too little, `MARKED` when the mark forbade
        the move: nothing changed."""

    @abc.abstractmethod
    async def hgetall(self, key: str) -> dict[str, bytes]: ...

    @abc.abstractmethod
    async def hlen(self, key: str) -> int: ...

    # -- ordered sets (score order, then member) -------------------------------
    @abc.abstractmethod
    async def zadd(self, key: str, member: str, score: float, nx: bool = False) -> bool:
        """Add or update; with nx, only add. True when the member is new."""

    @abc.abstractmethod
    async def zrem(self, key: str, member: str) -> bool: ...

    @abc.abstractmethod
    async def zrange(self, key: str, start: int = 0, stop: int = -1) -> list[tuple[str, float]]: ...

    @abc.abstractmethod
    async def zpopmin(self, key: str) -> tuple[str, float] | None: ...

    @abc.abstractmethod
    async def zcard(self, key: str) -> int: ...

    # -- append-only lists -------------------------------------------------------
    @abc.abstractmethod
    async def rpush(self, key: str, value: bytes) -> int: ...

    @abc.abstractmethod
    async def lrange(self, key: str, start: int = 0, stop: int = -1) -> list[bytes]: ...

    # -- revision log: a counter and the last `keep` entries, appended together --
    @abc.abstractmethod
    async def log_append(self, key: str, entry: bytes, keep: int) -> int:
        """Increment the log's revision, append `entry` under it; return the new revision."""

    @abc.abstractmethod
    async def log_since(self, key: str, rev: int) -> tuple[int, list[tuple[int, bytes]] | None]:
        """The current revision and the entries after `rev`, or None if some were trimmed."""

    # -- slots and holders (leases) ------------------------------------------------
    @abc.abstractmethod
    async def slot_reserve(
        self, pool: str, member: str, cap: int | None, holder: str | None = None
    ) -> bool:
        """Add `member` to `pool` if it is there already or the pool has fewer than `cap`."""

    @abc.abstractmethod
    async def slot_release(self, pool: str, member: str, holder: str | None = None) -> bool: ...

    @abc.abstractmethod
    async def slot_members(self, pool: str) -> builtins.set[str]: ...

    @abc.abstractmethod
    async def slot_count(self, pool: str) -> int: ...

    @abc.abstractmethod
    async def holder_touch(self, holders: Sequence[str], expires_at: float) -> None:
        """Set the deadline of each holder (INF: never expires)."""

    @abc.abstractmethod
    async def holder_expire(
        self, now: float, limit: int = 500
    ) -> list[tuple[str, list[SlotEntry]]]:
        """Release every reservation of each holder whose deadline passed; return what was freed."""

    @abc.abstractmethod
    async def holder_release(self, holder: str) -> list[SlotEntry]:
        """Release every reservation of one holder now."""

    @abc.abstractmethod
    async def holder_slots(self, holder: str) -> list[SlotEntry]: ...
