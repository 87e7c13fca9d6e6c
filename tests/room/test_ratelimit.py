"""The store-kept rate limit (GCRA): a burst, then one action per interval."""

from __future__ import annotations

from moderation import throttle
from room.store import Store


async def test_burst_then_steady_rate(store: Store):
    async def take(at: float) -> bool:
        return await throttle.take(store, "rl", "alice", every=10.0, burst=3, at=at)

    assert [await take(100.0) for _ in range(4)] == [True, True, True, False]
    assert await take(105.0) is False
    assert await take(110.0) is True  # one interval later, one more
    assert await take(110.0) is False
    assert await take(200.0) is True  # after a long pause the burst is back
    assert await take(200.0) is True
    assert await take(200.0) is True
    assert await take(200.0) is False
    assert await throttle.take(store, "rl", "bob", every=10.0, burst=3, at=200.0)
