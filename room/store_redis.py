"""The production store on Redis: every node shares it; reservations are Lua scripts.

Every command (scripts included) goes through `_Client.execute_command`: with socket
timeouts, one reconnecting retry, and the one translation of connection-level errors
into `StoreUnavailable`. A Redis that hangs (SIGSTOP, a dead link) therefore costs a
call a few seconds, never forever.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from room.store import INF, SlotEntry, Store, StoreUnavailable
from room.store_marks import HMARK, HMOVE, HSETNX_CAPPED
from room.store_memory import entries_since

UNREACHABLE = (aioredis.ConnectionError, aioredis.TimeoutError, TimeoutError, OSError)
"""Errors that mean the store cannot be reached (not that a command was wrong)."""


class _Client(aioredis.Redis):
    """The client with the one place where unreachability becomes `StoreUnavailable`."""

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except UNREACHABLE as exc:
            raise StoreUnavailable(f"redis: {type(exc).__name__}: {exc}") from exc


_HSWAP = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return old
"""

# ARGV: field, has_expected (0/1), expected, has_value (0/1), value
_HCAS = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '1' then
  if cur ~= ARGV[3] then return 0 end
else
  if cur then return 0 end
end
if ARGV[4] == '1' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[5])
else redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
"""

# KEYS: hash. ARGV: field, every, tolerance, now. The GCRA of room.ratelimit, atomically.
_THROTTLE = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local at = tonumber(ARGV[4])
local tat = at
if raw then tat = math.max(tonumber(raw), at) end
local wait = tat - tonumber(ARGV[3]) - at
if wait > 0 then return tostring(wait) end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%.17g', tat + tonumber(ARGV[2])))
return '0'
"""

# KEYS: rev counter, list. ARGV: entry, keep
_LOG_APPEND = """
local rev = redis.call('INCR', KEYS[1])
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
return rev
"""

_LOG_READ = """
local rev = redis.call('GET', KEYS[1]) or '0'
local n = tonumber(rev) - tonumber(ARGV[1])
if n <= 0 then return {rev, {}} end
return {rev, redis.call('LRANGE', KEYS[2], -n, -1), redis.call('LLEN', KEYS[2])}
"""

# KEYS: pool, held set (or the pool again when no holder). ARGV: member, cap (-1: none),
# held entry ('' when no holder)
_RESERVE = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then
  local cap = tonumber(ARGV[2])
  if cap >= 0 and redis.call('SCARD', KEYS[1]) >= cap then return 0 end
  redis.call('SADD', KEYS[1], ARGV[1])
end
if ARGV[3] ~= '' then redis.call('SADD', KEYS[2], ARGV[3]) end
return 1
"""

_RELEASE_ONE = """
local n = redis.call('SREM', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then redis.call('SREM', KEYS[2], ARGV[2]) end
return n
"""

# Releases every reservation of the holders named; shared by expire and release.
_RELEASE_FN = """
local function release(prefix, deadlines, h)
  redis.call('ZREM', deadlines, h)
  local hk = prefix .. 'held:' .. h
  local entries = redis.call('SMEMBERS', hk)
  for _, e in ipairs(entries) do
    local i = string.find(e, '\\n', 1, true)
    redis.call('SREM', prefix .. string.sub(e, 1, i - 1), string.sub(e, i + 1))
  end
  redis.call('DEL', hk)
  return entries
end
"""

# KEYS: deadlines zset. ARGV: prefix, now, limit
_EXPIRE = (
    _RELEASE_FN
    + """
local hs = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, ARGV[3])
local out = {}
for _, h in ipairs(hs) do
  table.insert(out, h)
  table.insert(out, release(ARGV[1], KEYS[1], h))
end
return out
"""
)

# KEYS: deadlines zset. ARGV: prefix, holder
_RELEASE_HOLDER = (
    _RELEASE_FN
    + """
return release(ARGV[1], KEYS[1], ARGV[2])
"""
)


def _ms(seconds: float | None) -> int | None:
    """Seconds as the milliseconds Redis takes (at least 1: 0 would be refused)."""
    return None if seconds is None else max(1, round(seconds * 1000))


def _score(value: float) -> float | str:
    return "+inf" if value == INF else value


def _entry(pool: str, member: str) -> str:
    return f"{pool}\n{member}"


def _parse_entries(raw: Sequence[bytes]) -> list[SlotEntry]:
    out = []
    for e in raw:
        pool, _, member = e.decode().partition("\n")
        out.append((pool, member))
    return sorted(out)


class RedisStore(Store):
    def __init__(
        self,
        url: str,
        prefix: str = "tribune:",
        max_connections: int = 64,
        *,
        socket_timeout: float = 3.0,
        connect_timeout: float = 3.0,
        health_check_interval: int = 15,
        retries: int = 1,
        pool_timeout: float = 10.0,
    ) -> None:
        """`socket_timeout` / `connect_timeout`: seconds a command or a connection may take
        before the call fails with `StoreUnavailable` (after `retries` more attempts on a
        new connection); `health_check_interval`: an idle connection is pinged first;
        `pool_timeout`: the wait for a free connection under a burst."""
        self._prefix = prefix
        # Blocking pool: waits for a free connection instead of raising under bursts.
        self._pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=pool_timeout,
            socket_timeout=socket_timeout,
            socket_connect_timeout=connect_timeout,
            health_check_interval=health_check_interval,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries),
        )
        # Typed as Any: redis-py's response types are unions over decode modes; this
        # store always works in bytes and decodes at the edge.
        self.redis: Any = _Client(connection_pool=self._pool)
        r = self.redis
        self._hswap: Any = r.register_script(_HSWAP)
        self._hcas: Any = r.register_script(_HCAS)
        self._throttle: Any = r.register_script(_THROTTLE)
        self._log_append: Any = r.register_script(_LOG_APPEND)
        self._log_read: Any = r.register_script(_LOG_READ)
        self._reserve: Any = r.register_script(_RESERVE)
        self._release_one: Any = r.register_script(_RELEASE_ONE)
        self._expire: Any = r.register_script(_EXPIRE)
        self._release_holder: Any = r.register_script(_RELEASE_HOLDER)
        self._hsetnx_capped: Any = r.register_script(HSETNX_CAPPED)
        self._hmark: Any = r.register_script(HMARK)
        self._hmove: Any = r.register_script(HMOVE)

    def k(self, key: str) -> str:
        return self._prefix + key

    @property
    def _deadlines(self) -> str:
        return self._prefix + "deadlines"

    async def close(self) -> None:
        await self.redis.aclose()
        await self._pool.aclose()

    async def ping(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (StoreUnavailable, aioredis.RedisError):
            return False

    async def now(self) -> float:
        seconds, micros = await self.redis.time()
        return int(seconds) + int(micros) / 1e6

    # -- plain values ------------------------------------------------------------
    async def get(self, key: str) -> bytes | None:
        v: bytes | None = await self.redis.get(self.k(key))
        return v

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        await self.redis.set(self.k(key), value, px=_ms(ttl))

    async def set_nx(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        return bool(await self.redis.set(self.k(key), value, nx=True, px=_ms(ttl)))

    async def delete(self, *keys: str) -> int:
        if not keys:
            return 0
        return int(await self.redis.delete(*(self.k(k) for k in keys)))

    async def incr(self, key: str, by: int = 1) -> int:
        return int(await self.redis.incrby(self.k(key), by))

    async def expire(self, key: str, seconds: float) -> bool:
        return bool(await self.redis.pexpire(self.k(key), _ms(seconds)))

    # -- hashes ----------------------------------------------------------------
    async def hget(self, key: str, field: str) -> bytes | None:
        v: bytes | None = await self.redis.hget(self.k(key), field)
        return v

    async def hmget(self, key: str, fields: Sequence[str]) -> list[bytes | None]:
        if not fields:
            return []
        return list(await self.redis.hmget(self.k(key), list(fields)))

    async def hset(self, key: str, field: str, value: bytes) -> None:
        await self.redis.hset(self.k(key), field, value)

    async def hsetnx(self, key: str, field: str, value: bytes) -> bool:
        return bool(await self.redis.hsetnx(self.k(key), field, value))

    async def hswap(self, key: str, field: str, value: bytes) -> bytes | None:
        old: bytes | None = await self._hswap(keys=[self.k(key)], args=[field, value])
        return old

    async def hcas(self, key: str, field: str, expected: bytes | None, value: bytes | None) -> bool:
        args: list[Any] = [
            field,
            "0" if expected is None else "1",
            b"" if expected is None else expected,
            "0" if value is None else "1",
            b"" if value is None else value,
        ]
        return bool(await self._hcas(keys=[self.k(key)], args=args))

    async def hthrottle(
        self, key: str, field: str, every: float, tolerance: float, at: float
    ) -> float:
        args = [field, repr(every), repr(tolerance), repr(at)]
        return float(await self._throttle(keys=[self.k(key)], args=args))

    async def hsetnx_capped(self, key: str, field: str, value: bytes, cap: int) -> bool | None:
        done = int(await self._hsetnx_capped(keys=[self.k(key)], args=[field, value, cap]))
        return None if done < 0 else bool(done)

    async def hmark(
        self, key: str, field: str, on: bool, count_key: str, count_field: str
    ) -> tuple[bool, int]:
        keys = [self.k(key), self.k(count_key)]
        changed, count = await self._hmark(keys=keys, args=[field, int(on), count_field])
        return bool(changed), int(count)

    async def hmove(
        self, key: str, source: str | None, target: str | None, amount: int, log: str,
        entry: bytes, mark: tuple[str, str, bool] | None = None,
    ) -> int | None:  # fmt: skip
        m, field, on = mark or (key, "", True)
        keys, args = [self.k(key), self.k(log), self.k(m)], [source or "", target or "", amount]
        left = int(await self._hmove(keys=keys, args=[*args, entry, field, int(on)]))
        return None if left == -2 else left

    async def hdel(self, key: str, field: str) -> bool:
        return bool(await self.redis.hdel(self.k(key), field))

    async def hgetall(self, key: str) -> dict[str, bytes]:
        raw: dict[bytes, bytes] = await self.redis.hgetall(self.k(key))
        return {f.decode(): v for f, v in raw.items()}

    async def hlen(self, key: str) -> int:
        return int(await self.redis.hlen(self.k(key)))

    # -- ordered sets ------------------------------------------------------------
    async def zadd(self, key: str, member: str, score: float, nx: bool = False) -> bool:
        return bool(await self.redis.zadd(self.k(key), {member: score}, nx=nx))

    async def zrem(self, key: str, member: str) -> bool:
        return bool(await self.redis.zrem(self.k(key), member))

    async def zrange(self, key: str, start: int = 0, stop: int = -1) -> list[tuple[str, float]]:
        raw = await self.redis.zrange(self.k(key), start, stop, withscores=True)
        return [(m.decode(), float(s)) for m, s in raw]

    async def zpopmin(self, key: str) -> tuple[str, float] | None:
        raw = await self.redis.zpopmin(self.k(key))
        if not raw:
            return None
        m, s = raw[0]
        return m.decode(), float(s)

    async def zcard(self, key: str) -> int:
        return int(await self.redis.zcard(self.k(key)))

    # -- lists -----------------------------------------------------------------
    async def rpush(self, key: str, value: bytes) -> int:
        return int(await self.redis.rpush(self.k(key), value))

    async def lrange(self, key: str, start: int = 0, stop: int = -1) -> list[bytes]:
        return list(await self.redis.lrange(self.k(key), start, stop))

    # -- revision log ------------------------------------------------------------
    async def log_append(self, key: str, entry: bytes, keep: int) -> int:
        keys = [self.k(key + ":rev"), self.k(key + ":log")]
        return int(await self._log_append(keys=keys, args=[entry, keep]))

    async def log_since(self, key: str, rev: int) -> tuple[int, list[tuple[int, bytes]] | None]:
        keys = [self.k(key + ":rev"), self.k(key + ":log")]
        raw = await self._log_read(keys=keys, args=[rev])
        current = int(raw[0])
        if len(raw) < 3:
            return current, []
        items, length = raw[1], int(raw[2])
        if current - rev > length:
            return current, None
        return current, entries_since(current, items, rev)

    # -- slots and holders ---------------------------------------------------------
    async def slot_reserve(
        self, pool: str, member: str, cap: int | None, holder: str | None = None
    ) -> bool:
        held = self.k("held:" + holder) if holder is not None else self.k(pool)
        args = [member, -1 if cap is None else cap, "" if holder is None else _entry(pool, member)]
        return bool(await self._reserve(keys=[self.k(pool), held], args=args))

    async def slot_release(self, pool: str, member: str, holder: str | None = None) -> bool:
        held = self.k("held:" + holder) if holder is not None else self.k(pool)
        args = [member, "" if holder is None else _entry(pool, member)]
        return bool(await self._release_one(keys=[self.k(pool), held], args=args))

    async def slot_members(self, pool: str) -> builtins.set[str]:
        raw = await self.redis.smembers(self.k(pool))
        return {m.decode() for m in raw}

    async def slot_count(self, pool: str) -> int:
        return int(await self.redis.scard(self.k(pool)))

    async def holder_touch(self, holders: Sequence[str], expires_at: float) -> None:
        if not holders:
            return
        score = _score(expires_at)
        await self.redis.zadd(self._deadlines, {h: score for h in holders})

    async def holder_expire(
        self, now: float, limit: int = 500
    ) -> list[tuple[str, list[SlotEntry]]]:
        raw = await self._expire(keys=[self._deadlines], args=[self._prefix, repr(now), limit])
        out = []
        for i in range(0, len(raw), 2):
            out.append((raw[i].decode(), _parse_entries(raw[i + 1])))
        return out

    async def holder_release(self, holder: str) -> list[SlotEntry]:
        raw = await self._release_holder(keys=[self._deadlines], args=[self._prefix, holder])
        return _parse_entries(raw)

    async def holder_slots(self, holder: str) -> list[SlotEntry]:
        raw = await self.redis.smembers(self.k("held:" + holder))
        return _parse_entries(list(raw))
