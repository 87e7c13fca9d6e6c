"""One media owner per event across nodes: calls on any node run on the owner, and when
the owner is killed -9 a survivor takes the event over and the room is told to restart."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from room import nodes
from tests.conftest import free_port
from tests.helpers import Client, Server, Setup
from tests.media.conftest import wait_for
from tests.media.test_stage_wire import WirePublisher, WireViewer

TIMING = {"media_lease": 1.0, "media_every": 0.2}
"""A node's heartbeat lasts 1 s: a dead owner is replaced within about 1.2 s."""

ROOT = Path(__file__).resolve().parents[2]

DRAINING_NODE = """
import asyncio, sys
from signaling.app import build_app
from signaling.cli import run
from signaling.config import Config

async def main() -> None:
    config = Config(port=int(sys.argv[3]), redis_url=sys.argv[1], data_dir=sys.argv[2],
                    drain_timeout=15, media_lease=1.0, media_every=0.2)
    await run(build_app(config), config, lambda url: print(url, flush=True))

asyncio.run(main())
"""


async def video_frames(viewer: WireViewer, client: Client) -> str:
    tracks = await client.wait_for(
        "media.tracks", lambda d: any(t["source"] == "camera" for t in d["tracks"]), 10
    )
    mid = next(t["mid"] for t in tracks["tracks"] if t["source"] == "camera")
    await wait_for(lambda: viewer.frames.get(mid, 0) > 5, 10, "video frames")
    return str(mid)


async def test_calls_on_any_node_run_on_the_one_owner(make_server, redis_url: str) -> None:
    a: Server = await make_server(redis_url=redis_url, **TIMING)
    b: Server = await make_server(redis_url=redis_url, **TIMING)
    s = await a.setup()
    first = WireViewer(await a.client(s.tokens["participant"]))
    pres = WirePublisher(await b.client(s.tokens["presenter"]))
    other = WireViewer(await b.client(s.tokens["participant"]))
    try:
        ack_a = await first.subscribe()  # the first media call: node A owns the event
        owner = await nodes.owner(a.tribune.store, s.event.id)
        assert owner is not None and owner.node == a.tribune.media.node_id
        assert ack_a["epoch"] == owner.epoch
        assert (await pres.publish())["ok"]  # on B, routed to A
        ack_b = await other.subscribe()
        assert ack_b["epoch"] == owner.epoch
        assert s.event.id in a.tribune.media.sfus and not b.tribune.media.sfus
        for viewer in (first, other):
            await video_frames(viewer, viewer.client)
        # a refusal on the owner reaches the caller's node as the same code
        bad = await other.client.call("media.answer", {"sdp": "v=0 not an sdp at all"})
        assert bad["ok"] is False and bad["error"]["code"] == "invalid", bad
        # a stop on B stops the track on A
        assert (await pres.client.call("media.stop", {"source": "camera"}))["ok"]
        await other.client.wait_for(
            "media.tracks", lambda d: all(t["source"] != "camera" for t in d["tracks"])
        )
    finally:
        for peer in (first, pres, other):
            await peer.close()


async def owned_by(url: str, b: Server, s: Setup) -> tuple[WireViewer, WirePublisher, WireViewer]:
    """A viewer on node A (at `url`) subscribes first, so A owns the event's media; a
    presenter and a viewer on node B, whose media calls go to A."""
    on_a = Client(url)
    b.clients.append(on_a)
    await on_a.connect(s.tokens["participant"], "device-on-a")
    first = WireViewer(on_a)
    pres = WirePublisher(await b.client(s.tokens["presenter"]))
    viewer = WireViewer(await b.client(s.tokens["participant"]))
    await first.subscribe()
    return first, pres, viewer


async def test_a_survivor_takes_over_when_the_owner_is_killed(
    make_server, redis_url: str, doomed_node: tuple[str, int], no_tracebacks
) -> None:
    url, pid = doomed_node
    b: Server = await make_server(redis_url=redis_url, **TIMING)
    s = await b.setup()
    first, pres, viewer = await owned_by(url, b, s)
    peers: list[WireViewer | WirePublisher] = [first, pres, viewer]
    try:
        owner = await nodes.owner(b.tribune.store, s.event.id)
        assert owner is not None and owner.node != b.tribune.media.node_id
        assert (await pres.publish())["ok"]
        before = await viewer.subscribe()
        await video_frames(viewer, viewer.client)

        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        restart = await viewer.client.wait_for("media.restart", timeout=10)
        took_over = time.monotonic() - killed
        assert took_over < 5, took_over  # the bound
        assert restart["epoch"] != before["epoch"]
        await pres.client.wait_for("media.restart", timeout=5)
        # what the pages do on media.restart: publish and subscribe again, on new connections
        pres2 = WirePublisher(pres.client)
        viewer2 = WireViewer(viewer.client)
        peers += [pres2, viewer2]
        assert (await pres2.publish())["ok"]
        after = await viewer2.subscribe()
        assert after["epoch"] == restart["epoch"]
        await video_frames(viewer2, viewer2.client)
        first_frame = time.monotonic() - killed
        print(f"takeover {took_over:.2f}s, first frame on the survivor {first_frame:.2f}s")
        assert s.event.id in b.tribune.media.sfus
    finally:
        for peer in peers:
            await peer.close()


async def test_a_draining_owner_hands_its_events_over(
    make_server, redis_url: str, tmp_path: Path, no_tracebacks
) -> None:
    """SIGTERM on the owner during a live event: it hands the event to the other node, the
    room is told `media.restart`, and the attendees watch the presenter through B."""
    b: Server = await make_server(redis_url=redis_url, **TIMING)
    s = await b.setup()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", DRAINING_NODE, redis_url, str(tmp_path / "a"), str(free_port()),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    peers: list[WireViewer | WirePublisher] = []
    try:
        url = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip()
        first, pres, viewer = await owned_by(url, b, s)
        peers += [first, pres, viewer]
        assert (await pres.publish())["ok"]
        before = await viewer.subscribe()
        await video_frames(viewer, viewer.client)

        proc.send_signal(signal.SIGTERM)
        restart = await viewer.client.wait_for("media.restart", timeout=10)
        assert restart["epoch"] != before["epoch"]
        owner = await nodes.owner(b.tribune.store, s.event.id)
        assert owner is not None and owner.node == b.tribune.media.node_id
        pres2, viewer2 = WirePublisher(pres.client), WireViewer(viewer.client)
        peers += [pres2, viewer2]
        assert (await pres2.publish())["ok"]
        assert (await viewer2.subscribe())["epoch"] == restart["epoch"]
        await video_frames(viewer2, viewer2.client)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        for peer in peers:
            await peer.close()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
