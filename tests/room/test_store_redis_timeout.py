"""A Redis that hangs (SIGSTOP) costs a call its timeout, never forever: the call raises
`StoreUnavailable`, `ping` answers False, and after SIGCONT the store works again."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from room.store import StoreUnavailable
from room.store_redis import RedisStore
from tests.own_redis import Redis, own_redis  # noqa: F401 (the fixture)

TIMEOUT = 0.5
"""The socket timeouts given to the store: every call below must end within a few."""
BOUND = 6 * TIMEOUT + 2
"""Connect, command, one retry, a health check: a generous bound on one failed call."""


async def test_a_stopped_redis_makes_calls_fail_within_the_timeout(
    own_redis: Redis,  # noqa: F811
) -> None:
    store = RedisStore(own_redis.url, socket_timeout=TIMEOUT, connect_timeout=TIMEOUT)
    await store.start()
    try:
        await store.set("k", b"v")
        assert own_redis.proc is not None
        os.kill(own_redis.proc.pid, signal.SIGSTOP)
        calls = {
            "get": store.get("k"),
            "script": store.hswap("h", "f", b"1"),
            "lease": store.holder_expire(1.0),
            "clock": store.now(),
        }
        for name, call in calls.items():
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                await asyncio.wait_for(call, 30)  # hanging would fail with TimeoutError
            assert time.monotonic() - started < BOUND, name
        started = time.monotonic()
        assert await store.ping() is False
        assert time.monotonic() - started < BOUND
        os.kill(own_redis.proc.pid, signal.SIGCONT)
        assert await store.ping() is True
        assert await store.get("k") == b"v"
    finally:
        await store.close()


async def test_a_redis_that_is_gone_is_unavailable_too(
    own_redis: Redis,  # noqa: F811
) -> None:
    store = RedisStore(own_redis.url, socket_timeout=TIMEOUT, connect_timeout=TIMEOUT)
    await store.set("k", b"v")
    own_redis.kill()
    with pytest.raises(StoreUnavailable):
        await store.get("k")
    assert await store.ping() is False
    await store.close()
