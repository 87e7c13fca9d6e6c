"""The one rate limiter: in the store (GCRA), in memory, and the attempts of sign-ins."""

from __future__ import annotations

import pytest

from room import ratelimit
from room.errors import Code, TribuneError
from room.ratelimit import RATES, Backoff, Rate, TokenBucket
from room.store import Store


async def test_burst_then_steady_rate(store: Store):
    rate = Rate(burst=3, every=10.0)

    async def take(at: float) -> bool:
        return await ratelimit.take(store, "rl", "alice", rate, at=at)

    assert [await take(100.0) for _ in range(4)] == [True, True, True, False]
    assert await take(105.0) is False
    assert await take(110.0) is True  # one interval later, one more
    assert await take(110.0) is False
    assert await take(200.0) is True  # after a long pause the burst is back
    assert await take(200.0) is True
    assert await take(200.0) is True
    assert await take(200.0) is False
    assert await ratelimit.take(store, "rl", "bob", rate, at=200.0)


async def test_attempts_beyond_the_rate_are_refused_with_the_wait(store: Store):
    rate = Rate.per(3, 900)
    for _ in range(3):
        await ratelimit.slow_down(store, "login:a@example.org", rate)
    with pytest.raises(TribuneError) as err:
        await ratelimit.slow_down(store, "login:a@example.org", rate)
    assert err.value.code is Code.RATE_LIMITED
    assert "5 minute(s)" in str(err.value)  # one attempt comes back every 300 s
    await ratelimit.slow_down(store, "login:b@example.org", rate)  # other scopes are untouched


def test_a_connection_bucket_refuses_past_its_burst():
    bucket = TokenBucket(rate=0.001, burst=2)
    assert [bucket.take(), bucket.take(), bucket.take()] == [True, True, False]


def test_a_backoff_grows_then_stays_at_its_cap():
    b = Backoff(free=5, first=1.0, cap=20.0, forget=90.0)
    assert [b.delay(n) for n in range(12)] == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 20, 20]
    assert b.most == 10 and b.delay(b.most) == b.cap
    assert RATES.login_backoff.delay(RATES.login_backoff.most) == RATES.login_backoff.cap


async def test_failures_slow_the_scope_and_are_forgotten_over_time(store: Store):
    b = Backoff(free=2, first=1.0, cap=8.0, forget=60.0)
    scope = "login:a@example.org"
    for _ in range(3):
        await ratelimit.fail(store, scope, b, at=1000.0)
    assert await ratelimit.failures(store, scope, b, at=1000.0) == 3
    assert await ratelimit.backoff_delay(store, scope, b, at=1000.0) == 2.0
    assert await ratelimit.failures(store, scope, b, at=1060.0) == 2  # one forgotten a minute
    assert await ratelimit.backoff_delay(store, "login:b@example.org", b, at=1000.0) == 0
    # an attack piles up no more than `most`: once it stops, the waits shrink soon
    for _ in range(100):
        await ratelimit.fail(store, scope, b, at=1000.0)
    assert await ratelimit.failures(store, scope, b, at=1000.0) == b.most == 5
    assert await ratelimit.backoff_delay(store, scope, b, at=1000.0) == b.cap
    assert await ratelimit.failures(store, scope, b, at=1000.0 + 5 * 60.0) == 0
    await ratelimit.fail(store, scope, b, at=1000.0)
    await ratelimit.forgive(store, scope)
    assert await ratelimit.failures(store, scope, b, at=1000.0) == 0
