"""The embedded store's durability bound (issue 10; README, "Durability"): a node on the
embedded store killed by SIGKILL loses at most the last second of acknowledged writes.
Questions are asked and acknowledged, the node waits 1.5 s and is killed -9, a new
server starts on the same data directory: every acknowledged question is there."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from moderation import keys as mkeys
from moderation.items import Question
from room.records import decode
from tests.helpers import Client, start_server

NODE = """
import asyncio, json, sys
from tests.helpers import start_server

async def main() -> None:
    server = await start_server(data_dir=sys.argv[1])
    s = await server.setup()
    print(json.dumps({"url": server.url, "event": s.event.id, "tokens": s.tokens}), flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""
"""A node on the embedded store (no Redis URL) in its own process, to die by SIGKILL."""

ROOT = Path(__file__).resolve().parents[2]
ASKERS = 4
EACH = 5
"""Questions per asker: within the question throttle's burst."""


@pytest.fixture
async def embedded_node(
    tmp_path: Path,
) -> AsyncIterator[tuple[dict[str, object], asyncio.subprocess.Process, Path]]:
    data = tmp_path / "data"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", NODE, str(data), cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        yield json.loads(line), proc, data
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def test_kill_9_loses_no_write_acknowledged_a_second_before(
    embedded_node: tuple[dict[str, object], asyncio.subprocess.Process, Path],
) -> None:
    info, proc, data = embedded_node
    url, event_id, tokens = str(info["url"]), str(info["event"]), info["tokens"]
    assert isinstance(tokens, dict)
    askers = []
    for _ in range(ASKERS):
        c = Client(url)
        await c.connect(tokens["participant"], os.urandom(8).hex())
        askers.append(c)
    asked: set[str] = set()
    try:
        for i in range(EACH):
            for n, c in enumerate(askers):
                text = f"question {n}.{i}"
                ack = await c.call("question.ask", {"text": text})
                assert ack["ok"], ack
                asked.add(text)
    finally:
        for c in askers:
            await c.close()
    await asyncio.sleep(1.5)
    os.kill(proc.pid, signal.SIGKILL)
    await proc.wait()  # its lock on the data directory is gone with it

    restarted = await start_server(data_dir=str(data))
    try:
        store = restarted.tribune.store
        stored = await store.hgetall(mkeys.questions(event_id))
        assert {decode(raw, Question).text for raw in stored.values()} == asked
        assert len(asked) == ASKERS * EACH
        # the node's links still work: the signing secret survived too
        again = await restarted.client(str(tokens["participant"]))
        await again.wait_for("room.state")
    finally:
        await restarted.close()
