"""Media on several cores: a server started with `--media-workers 2`, real aiortc peers.

The publisher's connection lives in the event's home worker; subscribers spread over
both workers, the other one fed by the relay. Frames are counted on every viewer, a
late viewer on the sibling must start from a keyframe its request got from the
publisher, stop and unpublish must clear every worker, and a worker killed -9 comes
back while the room is told `media.restart`.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

from signaling.socket.media_pooled import PooledSfu
from tests.helpers import Client, Server, Setup
from tests.media.conftest import wait_for
from tests.media.test_recording_wire import (
    test_a_running_recording_stops_cleanly_when_the_space_runs_out as recording_stops_at_quota,
)
from tests.media.test_speaker_wire import (
    test_the_room_is_told_who_speaks_by_the_levels_his_packets_carry as speaker_told,
)
from tests.media.test_stage_wire import WirePublisher, WireViewer


async def worker_stats(server: Server) -> list[dict[str, Any]]:
    pool = server.tribune.media.local.pool
    assert pool is not None
    return [await w.call("stats") for w in pool.workers]


async def camera_mid(client: Client) -> str:
    tracks = await client.wait_for(
        "media.tracks", lambda d: any(t["source"] == "camera" for t in d["tracks"]), 10
    )
    return str(next(t["mid"] for t in tracks["tracks"] if t["source"] == "camera"))


async def viewers_on_both(s: Setup, sfu_of: Any, count: int) -> list[WireViewer]:
    viewers = [WireViewer(await s.join("participant")) for _ in range(count)]
    for viewer in viewers:
        await viewer.subscribe()
    placed = {w.index for w in sfu_of().where.values()}
    assert placed == {0, 1}, placed
    return viewers


async def test_subscribers_on_both_workers_get_the_publishers_frames(make_server) -> None:
    server: Server = await make_server(media_workers=2)
    s = await server.setup()
    pres = WirePublisher(await s.join("presenter"))
    viewers: list[WireViewer] = []
    try:
        assert (await pres.publish())["ok"]
        mid = await camera_mid(pres.client)

        def sfu() -> PooledSfu:
            found = server.tribune.media.sfus[s.event.id]
            assert isinstance(found, PooledSfu)
            return found

        home = sfu().home
        assert home is not None
        viewers = await viewers_on_both(s, sfu, 4)
        sibling = next(i for i in (0, 1) if i != home.index)
        on_sibling = [
            v for v in viewers if sfu().where[v.client.sio.get_sid("/room")].index == sibling
        ]
        assert on_sibling
        await wait_for(lambda: all(v.frames.get(mid, 0) > 5 for v in viewers), 15, "frames")
        before = {id(v): v.frames[mid] for v in viewers}
        sent = pres.camera.sent
        await wait_for(lambda: pres.camera.sent - sent >= 60, 15, "60 frames sent")
        sent = pres.camera.sent - sent
        for v in viewers:  # every viewer, on either worker, got (nearly) every frame
            assert v.frames[mid] - before[id(v)] >= 0.9 * sent - 5, (v.frames, sent)
        stats = await worker_stats(server)
        assert stats[home.index]["taps"] == 2 and stats[home.index]["relay"]["sent"] > 0
        assert stats[sibling]["copies"] == 2 and stats[sibling]["relay"]["received"] > 0
        assert stats[sibling]["relay"]["holes"] == 0
        assert all(st["subscribers"] == 2 for st in stats), stats

        # a late viewer on the sibling decodes: its keyframe request reached the publisher
        asked = stats[home.index]["keyframe_requests"]
        home.subscribers += 10  # steer the next subscription to the sibling
        late = WireViewer(await s.join("participant"))
        viewers.append(late)
        await late.subscribe()
        home.subscribers -= 10
        assert sfu().where[late.client.sio.get_sid("/room")].index == sibling
        await wait_for(lambda: late.frames.get(mid, 0) > 3, 10, "the late viewer's frames")
        stats = await worker_stats(server)
        assert stats[home.index]["keyframe_requests"] > asked

        # stop: the camera leaves the stage on every worker
        assert (await pres.client.call("media.stop", {"source": "camera"}))["ok"]
        await viewers[0].client.wait_for(
            "media.tracks", lambda d: [t["source"] for t in d["tracks"]] == ["mic"]
        )

        async def staged() -> list[list[str]]:
            return [st["stages"][s.event.id] for st in await worker_stats(server)]

        for _ in range(100):
            if all(len(tracks) == 1 for tracks in await staged()):
                break
            await asyncio.sleep(0.05)
        assert all([t[1] for t in tracks] == ["mic"] for tracks in await staged())
        # unpublish: nothing of the publisher stays on any worker
        identity = pres.client.received["room.state"][0]["you"]["person"]
        await server.tribune.media.call(s.event.id, "unpublish", identity=identity)
        for _ in range(100):
            stats = await worker_stats(server)
            if stats[sibling]["copies"] == 0:
                break
            await asyncio.sleep(0.05)
        assert all(st["stages"][s.event.id] == [] for st in stats), stats
        assert stats[sibling]["copies"] == 0 and stats[home.index]["taps"] == 0
        assert stats[home.index]["publishers"] == 0
    finally:
        for v in viewers:
            await v.close()
        await pres.close()


async def test_a_killed_worker_comes_back_and_the_room_restarts(make_server) -> None:
    server: Server = await make_server(media_workers=2)
    s = await server.setup()
    pres = WirePublisher(await s.join("presenter"))
    viewers: list[WireViewer] = []
    try:
        assert (await pres.publish())["ok"]
        await camera_mid(pres.client)
        found = server.tribune.media.sfus[s.event.id]
        assert isinstance(found, PooledSfu)
        viewers = await viewers_on_both(s, lambda: found, 2)
        first = server.tribune.media.owned[s.event.id].epoch  # what the pages hold
        pool = server.tribune.media.local.pool
        assert pool is not None
        victim = pool.workers[1 - (found.home.index if found.home else 0)]
        old_pid = victim.pid
        assert old_pid is not None
        os.kill(old_pid, signal.SIGKILL)
        restart = await viewers[1].client.wait_for("media.restart", None, 15)
        assert restart["epoch"] != first
        assert victim.pid != old_pid and pool.restarts == 1
        # the pages start over, as stage.js does: publish again on a new connection, and
        # subscribe again; a new subscription on each worker gets frames
        await pres.close()
        pres = WirePublisher(pres.client)
        assert (await pres.publish())["ok"]
        again = [WireViewer(v.client) for v in viewers]
        for old in viewers:
            await old.close()
        viewers = again
        acks = [await v.subscribe() for v in viewers]
        assert all(a["epoch"] == restart["epoch"] for a in acks)
        mid = await camera_mid(viewers[0].client)
        now = server.tribune.media.sfus[s.event.id]
        assert isinstance(now, PooledSfu)
        assert {w.index for w in now.where.values()} == {0, 1}
        await wait_for(lambda: all(v.frames.get(mid, 0) > 5 for v in viewers), 15, "frames")
    finally:
        for v in viewers:
            await v.close()
        await pres.close()


async def test_recording_runs_on_the_home_worker_and_stops_at_the_quota(make_server) -> None:
    """The quota test of test_recording_wire.py, with the media on two workers: the
    recording runs on the home worker, its size watched over the channel."""
    await recording_stops_at_quota(await make_server(media_workers=2))


async def test_the_home_worker_tells_the_active_speaker(make_server) -> None:
    """The speaker test of test_speaker_wire.py, with the media on two workers."""
    await speaker_told(await make_server(media_workers=2))
