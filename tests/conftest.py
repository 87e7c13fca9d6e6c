"""Shared fixtures: a real redis-server on a free port, stores, and running Tribune servers."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import redis

from room.store import Store
from room.store_memory import MemoryStore
from room.store_redis import RedisStore
from tests.helpers import Server, start_server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A private redis-server for the whole test session; stopped afterwards."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed (bash scripts/setup installs it)")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="tribune-redis-")
    proc = subprocess.Popen(
        [
            exe,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
            "--maxclients",
            "10000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    client.close()
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's Redis, emptied before each test."""
    client = redis.Redis.from_url(redis_server)
    client.flushall()
    client.close()
    return redis_server


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Store]:
    """One store of each backend: the contract suites run against both."""
    s: Store
    if backend == "redis":
        s = RedisStore(request.getfixturevalue("redis_url"))
    else:
        s = MemoryStore(tmp_path / "data")
    await s.start()
    try:
        yield s
    finally:
        await s.close()


ServerFactory = Callable[..., Awaitable[Server]]


@pytest.fixture
async def make_server(tmp_path: Path) -> AsyncIterator[ServerFactory]:
    """Start Tribune servers on free ports (`redis_url=None` means the memory store)."""
    started: list[Server] = []

    async def factory(redis_url: str | None = None, **config: object) -> Server:
        data_dir = tmp_path / f"data{len(started)}"
        server = await start_server(data_dir=str(data_dir), redis_url=redis_url, **config)
        started.append(server)
        return server

    yield factory
    for server in reversed(started):
        await server.close()
    await asyncio.sleep(0)


@pytest.fixture
async def server(
    make_server: ServerFactory, backend: str, request: pytest.FixtureRequest
) -> Server:
    """A running server on each backend."""
    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    return await make_server(redis_url=url)


@pytest.fixture
async def mem_server(make_server: ServerFactory) -> Server:
    """A running server on the memory store (for tests where the backend does not matter)."""
    return await make_server()


os.environ.setdefault("TRIBUNE_TEST", "1")


@pytest.fixture
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Fails the test when the server logged a traceback (bad input must never cause one)."""
    caplog.set_level(logging.WARNING)
    yield caplog
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert not tracebacks, [r.getMessage() for r in tracebacks]


NODE = """
import asyncio, sys
from tests.helpers import start_server

async def main() -> None:
    timing = {"lease_ttl": 1.0, "renew_every": 0.2, "sweep_every": 0.1, "grace": 1.0,
              "media_lease": 1.0, "media_every": 0.2}
    server = await start_server(data_dir=sys.argv[2], redis_url=sys.argv[1], **timing)
    print(server.url, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""
"""A node in its own process, so that it can die by SIGKILL: no disconnect bookkeeping,
no renewal, its sockets cut. Short leases (people and media ownership)."""


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
async def doomed_node(redis_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, int]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", NODE, redis_url, str(tmp_path / "doomed"),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        url = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip()
        assert url.startswith("http://"), url
        yield url, proc.pid
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
