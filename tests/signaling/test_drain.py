"""Drain: SIGTERM on a node (in its own process, served by `signaling.cli.run`) makes it
stop admitting (`/healthz` 503 "draining", new connections refused `unavailable`), run its
drain hooks, close its connections, and exit with code 0 once empty. Its people reconnect
to another node on the same store and find their place again."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.helpers import Client, Refused, Server, http
from tests.media.test_stage_leaving import person_id

ROOT = Path(__file__).resolve().parents[2]

NODE = """
import asyncio, sys
from signaling.app import build_app
from signaling.cli import run
from signaling.config import Config
from signaling.context import KEY

async def main() -> None:
    config = Config(port=int(sys.argv[3]), redis_url=sys.argv[1], data_dir=sys.argv[2],
                    drain_timeout=20)
    app = build_app(config)

    async def handover(app):  # a drain hook that takes a while, as a media handover may
        async def hook() -> None:
            print("handing over", flush=True)
            await asyncio.sleep(2)
        app[KEY].hub.on_drain.append(hook)
        yield

    app.cleanup_ctx.append(handover)
    await run(app, config, lambda url: print(url, flush=True))

asyncio.run(main())
"""


@pytest.fixture
async def node(
    redis_url: str, tmp_path: Path
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", NODE, redis_url, str(tmp_path / "node"), str(port),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        url = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip()
        assert url == f"http://127.0.0.1:{port}", url
        yield url, proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def test_sigterm_drains_the_node_and_its_people_move_to_another(
    node: tuple[str, asyncio.subprocess.Process], make_server, redis_url: str, no_tracebacks
) -> None:
    b: Server = await make_server(redis_url=redis_url)
    s = await b.setup()
    org = await b.client(s.tokens["organizer"])
    await org.wait_for("room.state")
    url, proc = node
    device = secrets.token_hex(8)
    mover = Client(url)
    b.clients.append(mover)
    await mover.connect(s.tokens["participant"], device)
    issued, who = await mover.identity(), await person_id(mover)
    await org.wait_for("roster.joined", lambda d: d["person"]["person"] == who)
    assert (await mover.call("hand.raise")) == {"ok": True}
    await org.wait_for("hand.queue", lambda d: [h["person"] for h in d["queue"]] == [who])

    os.kill(proc.pid, signal.SIGTERM)
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode().strip()
    assert line == "handing over", line
    assert (await http("GET", f"{url}/healthz")) == (503, {"ok": False, "error": "draining"})
    late = Client(url)
    b.clients.append(late)
    with pytest.raises(Refused) as refused:
        await late.connect(s.tokens["participant"], secrets.token_hex(8))
    assert refused.value.data["code"] == "unavailable", refused.value.data
    assert refused.value.data["message"] == "this node is draining"

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while mover.connected:
        assert loop.time() < deadline, "the draining node kept its connection"
        await asyncio.sleep(0.05)
    assert await asyncio.wait_for(proc.wait(), 15) == 0  # well before --drain-timeout 20

    back = Client(b.url)
    b.clients.append(back)
    await back.connect(s.tokens["participant"], device, identity=issued)
    assert await person_id(back) == who
    ack = await org.call("hand.next")
    assert ack["ok"] and ack["person"]["person"] == who, ack  # his hand kept its place
    assert ack["person"]["connected"], ack
    assert not [d for d in org.received.get("roster.left", []) if d["person"]["person"] == who]


async def test_tribune_serve_exits_0_on_sigterm(redis_url: str, tmp_path: Path) -> None:
    """The real command: SIGTERM with no connection drains at once and exits with 0."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "signaling.cli", "serve", "--port", str(port),
        "--redis-url", redis_url, "--data-dir", str(tmp_path / "d"), "--drain-timeout", "5",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert line.startswith("Tribune listening on"), line
        assert (await http("GET", f"http://127.0.0.1:{port}/healthz"))[0] == 200
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
        log = (await proc.stderr.read()).decode()
        assert "drained in" in log and "Traceback" not in log, log
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
