"""A recording survives its media owner's death (or drain): the node that takes the event
over continues it as part 2; part 1, even written by a node killed -9, stays readable."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import av

from room import recordings
from room.recordings import Recording
from tests.conftest import free_port
from tests.helpers import Server
from tests.media.test_owner_routing import DRAINING_NODE, ROOT, TIMING, owned_by, video_frames
from tests.media.test_stage_wire import WirePublisher, WireViewer


async def until(
    check: Callable[[], bool], refresh: Callable[[], Awaitable[object]], what: str
) -> None:
    for _ in range(150):
        await refresh()
        if check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"no {what} within 30 s")


def has_video(r: Recording | None, part: int) -> bool:
    return r is not None and any(t.part == part and t.kind == "video" for t in r.tracks)


def decoded_video(path: Path) -> int:
    """Video frames PyAV decodes from the file (demuxing it to its end)."""
    with av.open(str(path)) as f:
        stream = f.streams.video[0]
        return sum(len(p.decode()) for p in f.demux(stream) if p.size)


async def test_a_recording_goes_on_as_part_2_when_its_owner_is_killed(
    make_server, redis_url: str, doomed_node: tuple[str, int], tmp_path: Path
) -> None:
    url, pid = doomed_node
    b: Server = await make_server(redis_url=redis_url, **TIMING)
    store = b.tribune.store
    s = await b.setup()
    first, pres, viewer = await owned_by(url, b, s)
    peers: list[WireViewer | WirePublisher] = [first, pres, viewer]
    organizer = await s.join("organizer")  # on B: its socket outlives A
    rec: Recording | None = None

    async def record() -> Recording:
        nonlocal rec
        rec = await recordings.get(store, s.event.id, rec_id)
        assert rec is not None
        return rec

    try:
        assert (await pres.publish())["ok"]
        await viewer.subscribe()
        await video_frames(viewer, viewer.client)
        ack = await organizer.call("recording.start")  # runs on A, the owner
        assert ack["ok"], ack
        rec_id = ack["recording"]["id"]
        # A notes its part's tracks in the store as it writes them
        await until(lambda: has_video(rec, 1), record, "part 1 noted")
        os.kill(pid, signal.SIGKILL)
        await pres.client.wait_for("media.restart", timeout=10)
        pres2 = WirePublisher(pres.client)  # the page publishes again, on B
        viewer2 = WireViewer(viewer.client)
        peers += [pres2, viewer2]
        assert (await pres2.publish())["ok"]
        await viewer2.subscribe()
        await video_frames(viewer2, viewer2.client)
        await until(lambda: has_video(rec, 2), record, "part 2 noted")  # B writes it
        ack = await organizer.call("recording.stop")
        assert ack == {"ok": True, "recording": {"id": rec_id, "state": "stopped"}}
    finally:
        for peer in peers:
            await peer.close()

    rec = await record()
    assert rec.state == "stopped" and [p.index for p in rec.parts] == [1, 2]
    one, two = rec.parts
    assert one.stopped is not None and one.stopped <= two.started
    assert two.stopped == rec.stopped_at
    assert rec.size_bytes == one.size_bytes + two.size_bytes > 0
    assert {t.part for t in rec.tracks} == {1, 2}
    assert all(t.file.startswith("p2-") for t in two.tracks)
    assert all(t.started >= one.stopped - rec.started_at - 1 for t in two.tracks)
    # Part 1 was written by the killed node (its own data directory), part 2 by B.
    a_dir = tmp_path / "doomed" / "recordings" / s.event.id / rec_id
    b_dir = Path(b.tribune.config.data_dir) / "recordings" / s.event.id / rec_id
    video1 = next(t for t in one.tracks if t.kind == "video")
    video2 = next(t for t in two.tracks if t.kind == "video")
    assert decoded_video(a_dir / video1.file) > 10  # readable up to its last cluster
    assert decoded_video(b_dir / video2.file) > 10
    assert (b_dir / "p2-manifest.json").is_file()


async def test_a_draining_owner_hands_its_recording_over_as_part_2(
    make_server, redis_url: str, tmp_path: Path
) -> None:
    """SIGTERM on the owner while it records: its part closes properly (a complete file),
    and the node that gets the event continues the recording as part 2."""
    b: Server = await make_server(redis_url=redis_url, **TIMING)
    store = b.tribune.store
    s = await b.setup()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", DRAINING_NODE, redis_url, str(tmp_path / "a"), str(free_port()),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    peers: list[WireViewer | WirePublisher] = []
    rec: Recording | None = None

    async def record() -> Recording:
        nonlocal rec
        rec = await recordings.get(store, s.event.id, rec_id)
        assert rec is not None
        return rec

    try:
        url = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip()
        first, pres, viewer = await owned_by(url, b, s)
        peers += [first, pres, viewer]
        organizer = await s.join("organizer")
        assert (await pres.publish())["ok"]
        await viewer.subscribe()
        await video_frames(viewer, viewer.client)
        ack = await organizer.call("recording.start")
        assert ack["ok"], ack
        rec_id = ack["recording"]["id"]
        await until(lambda: has_video(rec, 1), record, "part 1 noted")
        proc.send_signal(signal.SIGTERM)
        await pres.client.wait_for("media.restart", timeout=10)
        pres2, viewer2 = WirePublisher(pres.client), WireViewer(viewer.client)
        peers += [pres2, viewer2]
        assert (await pres2.publish())["ok"]
        await viewer2.subscribe()
        await video_frames(viewer2, viewer2.client)
        await until(lambda: has_video(rec, 2), record, "part 2 noted")
        ack = await organizer.call("recording.stop")
        assert ack["ok"], ack
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        for peer in peers:
            await peer.close()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    rec = await record()
    assert [p.index for p in rec.parts] == [1, 2] and rec.state == "stopped"
    a_dir = tmp_path / "a" / "recordings" / s.event.id / rec_id
    assert (a_dir / "manifest.json").is_file()  # part 1 was closed, not cut off
    video1 = next(t for t in rec.parts[0].tracks if t.kind == "video")
    assert video1.stopped is not None
    assert decoded_video(a_dir / video1.file) > 10
