"""A Redis that hangs (SIGSTOP) costs a call its timeout, never forever: the call raises
`StoreUnavailable`, `ping` answers False, and after SIGCONT the store works again."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from room.store import StoreUnavailable
from room.store_redis import RedisStore
from tests.signaling.socket.test_faults import Redis

TIMEOUT = 0.5
"""The socket timeouts given to the store: every call below must end within a few."""
BOUND = 6 * TIMEOUT + 2
"""Connect, command, one retry, a health check: a generous bound on one failed call."""


@pytest.fixture
async def stopped_redis(tmp_path: Path) -> AsyncIterator[Redis]:
    r = Redis(tmp_path / "redis")
    r.dir.mkdir()
    r.start()
    try:
        yield r
    finally:
        if r.proc is not None:
            os.kill(r.proc.pid, signal.SIGCONT)
        r.kill()


async def test_a_stopped_redis_makes_calls_fail_within_the_timeout(stopped_redis: Redis) -> None:
    store = RedisStore(stopped_redis.url, socket_timeout=TIMEOUT, connect_timeout=TIMEOUT)
    await store.start()
    try:
        await store.set("k", b"v")
        assert stopped_redis.proc is not None
        os.kill(stopped_redis.proc.pid, signal.SIGSTOP)
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
        os.kill(stopped_redis.proc.pid, signal.SIGCONT)
        assert await store.ping() is True
        assert await store.get("k") == b"v"
    finally:
        await store.close()


async def test_a_redis_that_is_gone_is_unavailable_too(stopped_redis: Redis) -> None:
    store = RedisStore(stopped_redis.url, socket_timeout=TIMEOUT, connect_timeout=TIMEOUT)
    await store.set("k", b"v")
    stopped_redis.kill()
    with pytest.raises(StoreUnavailable):
        await store.get("k")
    assert await store.ping() is False
    await store.close()
