"""The embedded store's capped insert, counted marks and checked moves (`Store.hsetnx_capped`,
`hmark`, `hmove`).

Each is composed of the embedded store's own primitives with no suspension in between:
on one event loop, that makes the whole step atomic, as a Lua script is on Redis
(`room.store_redis`, scripts below).
"""

from __future__ import annotations

from room.store import MARKED, Store

# KEYS: hash. ARGV: field, value, cap. 1 set, 0 there already, -1 full.
HSETNX_CAPPED = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""

# KEYS: marks hash, counts hash. ARGV: field, on (1/0), count field. {changed, count}
HMARK = """
local changed
if ARGV[2] == '1' then
  changed = redis.call('HSETNX', KEYS[1], ARGV[1], '1')
else
  changed = redis.call('HDEL', KEYS[1], ARGV[1])
end
if changed == 1 then
  local by = 1
  if ARGV[2] ~= '1' then by = -1 end
  return {1, redis.call('HINCRBY', KEYS[2], ARGV[3], by)}
end
return {0, tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0')}
"""

# KEYS: hash, log list, mark hash. ARGV: source ('' none), target ('' none), amount, entry,
# mark field ('' none), mark on (1/0). What the source holds after (the target's without a
# source); -1 when the mark forbids the move, -2 when the source held too little.
HMOVE = """
local amount = tonumber(ARGV[3])
if ARGV[5] ~= '' and (ARGV[6] == '1') == (redis.call('HEXISTS', KEYS[3], ARGV[5]) == 1) then
  return -1
end
local left
if ARGV[1] ~= '' then
  if tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') < amount then return -2 end
  left = redis.call('HINCRBY', KEYS[1], ARGV[1], -amount)
end
if ARGV[2] ~= '' then
  local added = redis.call('HINCRBY', KEYS[1], ARGV[2], amount)
  if left == nil then left = added end
end
if ARGV[5] ~= '' then
  if ARGV[6] == '1' then redis.call('HSET', KEYS[3], ARGV[5], '1')
  else redis.call('HDEL', KEYS[3], ARGV[5]) end
end
redis.call('RPUSH', KEYS[2], ARGV[4])
return left
"""


class MemoryMarks(Store):
    """`hsetnx_capped`, `hmark` and `hmove` for the embedded store. No `await` below suspends
    (the embedded store's methods never do), so each method runs as one critical section."""

    async def hsetnx_capped(self, key: str, field: str, value: bytes, cap: int) -> bool | None:
        if await self.hget(key, field) is not None:
            return False
        if await self.hlen(key) >= cap:
            return None
        await self.hset(key, field, value)
        return True

    async def hmark(
        self, key: str, field: str, on: bool, count_key: str, count_field: str
    ) -> tuple[bool, int]:
        changed = await self.hsetnx(key, field, b"1") if on else await self.hdel(key, field)
        count = int(await self.hget(count_key, count_field) or b"0")
        if changed:
            count += 1 if on else -1
            await self.hset(count_key, count_field, str(count).encode())
        return changed, count

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
        if mark is not None and (await self.hget(mark[0], mark[1]) is None) != mark[2]:
            return MARKED
        left = 0
        if source is not None:
            held = int(await self.hget(key, source) or b"0")
            if held < amount:
                return None
            left = held - amount
            await self.hset(key, source, str(left).encode())
        if target is not None:
            added = int(await self.hget(key, target) or b"0") + amount
            await self.hset(key, target, str(added).encode())
            if source is None:
                left = added
        if mark is not None:
            await (self.hset(mark[0], mark[1], b"1") if mark[2] else self.hdel(mark[0], mark[1]))
        await self.rpush(log, entry)
        return left
