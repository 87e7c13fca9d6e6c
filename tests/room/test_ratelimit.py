"""The one rate limiter: in the store (GCRA), in memory, and the attempts of sign-ins."""

from __future__ import annotations

import pytest

from room import ratelimit
from room.errors import Code, TribuneError
from room.ratelimit import Rate, TokenBucket
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
