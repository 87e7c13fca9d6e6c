"""Faults on two nodes sharing one real redis-server: a store outage longer than the lease
evicts nobody, and the death of a node is cleaned up by the survivor."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis

from room.presence import roster
from tests.conftest import free_port
from tests.helpers import Client, Server
from tests.media.test_stage_leaving import person_id

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


async def test_a_store_outage_longer_than_the_lease_evicts_nobody(
    make_server, own_redis: Redis, no_tracebacks
) -> None:
    """Redis is killed for several lease periods and restarted on its append-only file:
    everyone stays connected and in the roster, acts again, and no node logs a traceback."""
    a: Server = await make_server(redis_url=own_redis.url, **TIMING)
    b: Server = await make_server(redis_url=own_redis.url, **TIMING)
    s = await a.setup()
    org = await b.client(s.tokens["organizer"])
    await org.wait_for("room.state")
    people: list[Client] = [
        await a.client(s.tokens["participant"]),
        await b.client(s.tokens["participant"]),
        await a.client(s.tokens["presenter"]),
    ]
    ids = [await person_id(c) for c in people]
    for pid in ids:
        await org.wait_for("roster.joined", lambda d, pid=pid: d["person"]["person"] == pid)
    own_redis.kill()
    await asyncio.sleep(4 * TIMING["lease_ttl"])
    own_redis.start()
    # Every node renews at once, then sweeps again one lease period later: wait past it.
    await asyncio.sleep(3 * TIMING["lease_ttl"])

    assert all(c.sio.connected for c in [org, *people])
    listed = {p.identity: p for p in await roster.people(a.tribune.store, s.event.id)}
    for pid in ids:
        assert pid in listed and listed[pid].connected, (pid, listed)
    assert not org.received.get("roster.left"), org.received["roster.left"]
    for c in people[:2]:
        ack = await c.call("hand.raise")
        assert ack == {"ok": True}, ack
    ack = await people[2].call("question.ask", {"text": "still here?"})
    assert ack["ok"], ack
    warnings = [r for r in no_tracebacks.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 2, [r.getMessage() for r in warnings]  # one per node
