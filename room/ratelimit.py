"""The one rate limiter: a token bucket, per connection in memory or per person in the store.

Both forms are the same algorithm. `TokenBucket` keeps its tokens in the process, for
limits that belong to one connection (a socket's packets). `take` keeps a bucket in the
store as GCRA: one number per member, the theoretical arrival time (TAT) of his next
action. An action at `t` is allowed when `TAT - t` stays within the burst allowance; it
pushes the TAT on by one interval. One hash field per member, updated atomically by the
store (`Store.hthrottle`, a Lua script on Redis): it holds across nodes, with no
counters that drift and no keys that pile up per time window.

The limits of the edge (sign-in, registration) are named in `RATES`; moderation's own
(questions, chat) in `moderation.limits`; a socket's in the server configuration.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from room import keys
from room.errors import Code, TribuneError
from room.records import now
from room.store import Store


@dataclass(frozen=True)
class Rate:
    burst: int
    """Actions allowed at once ..."""
    every: float
    """... then one more every this many seconds."""

    @classmethod
    def per(cls, count: int, window: float) -> Rate:
        """`count` actions at once, refilled over `window` seconds."""
        return cls(burst=count, every=window / count)


class Rates:
    """Every rate limit of the edge, in one place."""

    login_per_ip = Rate.per(30, 900)
    login_per_email = Rate.per(10, 900)
    magic_per_ip = Rate.per(30, 900)
    magic_per_email = Rate.per(5, 900)
    magic_use_per_ip = Rate.per(60, 900)
    register_per_ip = Rate.per(1000, 600)


RATES = Rates()


class TokenBucket:
    """A bucket kept in this process: `rate` tokens a second, at most `burst` saved up."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self, cost: float = 1.0) -> bool:
        t = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (t - self.stamp) * self.rate)
        self.stamp = t
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True


async def _spend(store: Store, key: str, member: str, rate: Rate, t: float) -> float | None:
    """Spend one action; None when allowed, else the seconds until the next one is."""
    wait = await store.hthrottle(key, member, rate.every, rate.every * (rate.burst - 1), t)
    return None if wait <= 0 else wait


async def take(store: Store, key: str, member: str, rate: Rate, at: float | None = None) -> bool:
    """Spend one action of `member`'s allowance in the bucket hash `key`; False when over."""
    return await _spend(store, key, member, rate, now() if at is None else at) is None


async def slow_down(store: Store, scope: str, rate: Rate) -> None:
    """Count one attempt in `scope` (a login, a sign-in link, a registration); beyond
    `rate`, refuse with `rate_limited`, saying how long to wait."""
    wait = await _spend(store, keys.ATTEMPTS, scope, rate, now())
    if wait is not None:
        minutes = max(1, math.ceil(wait / 60))
        message = f"too many attempts; try again in {minutes} minute(s)"
        raise TribuneError(Code.RATE_LIMITED, message)
