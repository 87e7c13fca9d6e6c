"""A private redis-server to kill and restart during a test (store outages), and the
short lease timing that makes an outage of a few seconds several lease periods long."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis

from tests.conftest import free_port

TIMING = {"lease_ttl": 1.0, "renew_every": 0.2, "sweep_every": 0.1, "grace": 1.0}
"""Short leases: an outage of a few seconds is several lease periods long."""


class Redis:
    """A private redis-server with an append-only file, to kill and restart on one port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.dir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        assert exe is not None, "redis-server is not installed"
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except (redis.ConnectionError, redis.BusyLoadingError):
                assert time.monotonic() < deadline and self.proc.poll() is None, "no redis"
                time.sleep(0.05)
        client.close()

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


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
