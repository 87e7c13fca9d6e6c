"""A private redis-server to kill and restart during a test (store outages), and the
short lease timing that makes an outage of a few seconds several lease periods long."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cluster.redis import Redis

TIMING = {"lease_ttl": 1.0, "renew_every": 0.2, "sweep_every": 0.1, "grace": 1.0}
"""Short leases: an outage of a few seconds is several lease periods long."""


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[Redis]:
    r = Redis(tmp_path / "redis")
    r.dir.mkdir()
    r.start()
    try:
        yield r
    finally:
        r.kill()


async def until(check, what: str, timeout: float = 15) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.05)
