"""The one rate limiter: a token bucket, per connection in memory or per person in the store.

Both forms are the same algorithm. `TokenBucket` keeps its tokens in the process, for
limits that belong to one connection (a socket's packets). `take` keeps a bucket in the
store as GCRA: one number per member, the theoretical arrival time (TAT) of his next
action. An action at `t` is allowed when `TAT - t` stays within the burst allowance; it
pushes the TAT on by one interval. One hash field per member, updated atomically by the
store (`Store.hthrottle`, a Lua script on Redis): it holds across nodes, with no
counters that drift and no keys that pile up per time window. The edge's scopes are one
key each (`keys.attempts`), with a TTL of the time the bucket takes to fill up again:
after that it would allow a full burst anyway, so nothing is forgotten too early.

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


@dataclass(frozen=True)
class Backoff:
    """Failures slow the next attempts and never refuse them: after `free` recent
    failures each attempt first waits `first` seconds, doubled with every further
    failure, at most `cap`. Whoever has the password gets in after that wait, so
    nobody can lock the owner of an account out by guessing wrong in his name.
    One failure is forgotten every `forget` seconds."""

    free: int
    first: float
    cap: float
    forget: float

    def delay(self, failures: int) -> float:
        """The wait before an attempt, with `failures` recent failures."""
        if failures < self.free:
            return 0.0
        return min(self.cap, self.first * 2.0 ** (failures - self.free))

    @property
    def most(self) -> int:
        """Failures remembered at most: those that reach `cap`, so that the waits of an
        attack that stopped shrink again after a few `forget` periods."""
        return self.free + max(0, math.ceil(math.log2(self.cap / self.first)))


class Rates:
    """Every rate limit of the edge, in one place."""

    login_per_ip = Rate.per(30, 900)
    login_backoff = Backoff(free=5, first=1.0, cap=20.0, forget=90.0)
    """Per account (its e-mail): 5 wrong passwords free, then waits of 1, 2, 4, 8, 16,
    20 s; one failure forgotten every 90 s."""
    magic_per_ip = Rate.per(30, 900)
    magic_per_email = Rate.per(5, 900)
    magic_use_per_ip = Rate.per(60, 900)
    register_per_ip = Rate.per(1000, 600)
    identity_per_ip = Rate.per(1000, 300)
    """New identities on shared links per client address: a whole office behind one NAT
    may join at once, then one more every 0.3 s (`room.presence.identities`)."""


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


BUCKET = "tat"
"""The field of a scope's bucket (`keys.attempts`)."""


async def _spend_scope(
    store: Store, scope: str, every: float, tolerance: float, at: float
) -> float | None:
    """`_spend` in the scope's own bucket, which then expires when it is full again (the
    theoretical arrival time is at most `tolerance + every` ahead of `at`)."""
    key = keys.attempts(scope)
    wait = await store.hthrottle(key, BUCKET, every, tolerance, at)
    if wait > 0:
        return wait
    await store.expire(key, tolerance + every)
    return None


async def allow(store: Store, scope: str, rate: Rate, at: float | None = None) -> bool:
    """Spend one action of `scope`'s allowance; False when over."""
    t = now() if at is None else at
    return await _spend_scope(store, scope, rate.every, rate.every * (rate.burst - 1), t) is None


async def slow_down(store: Store, scope: str, rate: Rate) -> None:
    """Count one attempt in `scope` (a login, a sign-in link, a registration); beyond
    `rate`, refuse with `rate_limited`, saying how long to wait."""
    wait = await _spend_scope(store, scope, rate.every, rate.every * (rate.burst - 1), now())
    if wait is not None:
        minutes = max(1, math.ceil(wait / 60))
        message = f"too many attempts; try again in {minutes} minute(s)"
        raise TribuneError(Code.RATE_LIMITED, message)


# -- failures that slow, never refuse (`Backoff`) -------------------------------------------
# The failures of a scope are a GCRA bucket too: each one pushes its TAT on by `forget`,
# so `(TAT - now) / forget` is the count of failures not yet forgotten, kept atomically
# by `Store.hthrottle` across nodes; the bucket refuses beyond `most`, which caps the count.


async def failures(store: Store, scope: str, backoff: Backoff, at: float | None = None) -> int:
    """The recent failures counted in `scope`."""
    raw = await store.hget(keys.attempts(scope), BUCKET)
    if raw is None:
        return 0
    ahead = float(raw) - (now() if at is None else at)
    return max(0, math.ceil(ahead / backoff.forget - 1e-9))


async def backoff_delay(
    store: Store, scope: str, backoff: Backoff, at: float | None = None
) -> float:
    """The seconds the next attempt in `scope` waits first."""
    return backoff.delay(await failures(store, scope, backoff, at))


async def fail(store: Store, scope: str, backoff: Backoff, at: float | None = None) -> None:
    """Count one failure in `scope` (beyond `backoff.most` the count stays there)."""
    tolerance = backoff.forget * (backoff.most - 1)
    await _spend_scope(store, scope, backoff.forget, tolerance, now() if at is None else at)


async def forgive(store: Store, scope: str) -> None:
    """Forget the failures of `scope` (the right password came)."""
    await store.delete(keys.attempts(scope))
