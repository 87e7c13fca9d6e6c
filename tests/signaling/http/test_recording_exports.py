"""A recording's MP4 export through the real server: the job in its worker process, its
progress in the listing, the download, faults, the recording space and deletion."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import aiohttp
import av
import msgspec
from PIL import Image

from moderation import slides
from room import keys, recording_exports, recordings
from room.recording_exports import Export, ExportState
from room.records import Person
from room.types import Role
from tests.helpers import Server, Setup, http
from tests.media.recorded import recorded


def base(server: Server, s: Setup, rec_id: str) -> str:
    return f"{server.url}/api/v1/events/{s.event.id}/recordings/{rec_id}"


async def listed(server: Server, s: Setup, rec_id: str) -> dict[str, Any]:
    status, body = await http(
        "GET", f"{server.url}/api/v1/events/{s.event.id}/recordings", s.api_key
    )
    assert status == 200, body
    return next(r for r in body["recordings"] if r["id"] == rec_id)


async def settled(server: Server, s: Setup, rec_id: str) -> dict[str, Any]:
    """The export once done or failed, and every progress seen meanwhile."""
    for _ in range(1200):
        view = (await listed(server, s, rec_id))["export"]
        if view["state"] in ("done", "failed"):
            return dict(view)
        assert view["state"] in ("queued", "running") and 0 <= view["progress"] <= 1
        await asyncio.sleep(0.1)
    raise AssertionError("the export never ended")


async def test_a_recording_exports_to_one_mp4(mem_server) -> None:
    s = await mem_server.setup()
    rec = await recorded(mem_server, s.event.id)
    assert "export" not in await listed(mem_server, s, rec.id)  # none asked for yet
    status, body = await http("POST", base(mem_server, s, rec.id) + "/export", s.api_key)
    assert status == 202 and body == {"export": {"state": "queued", "progress": 0.0}}
    status, again = await http("POST", base(mem_server, s, rec.id) + "/export", s.api_key)
    assert status == 202 and again["export"]["state"] in ("queued", "running", "done")
    view = await settled(mem_server, s, rec.id)
    path = Path(mem_server.tribune.config.data_dir) / "recordings" / s.event.id / rec.id
    mp4 = path / "export.mp4"
    assert view == {
        "state": "done",
        "progress": 1.0,
        "url": f"/api/v1/events/{s.event.id}/recordings/{rec.id}/export.mp4",
        "size_bytes": mp4.stat().st_size,
    }
    assert not (path / "export-work").exists()  # the plan and slide files are cleaned up
    # Done: asking again answers the same export, starts nothing.
    status, again = await http("POST", base(mem_server, s, rec.id) + "/export", s.api_key)
    assert status == 202 and again["export"] == view

    async with aiohttp.ClientSession() as session:
        url = mem_server.url + view["url"]
        async with session.get(url, headers={"Authorization": f"Bearer {s.api_key}"}) as r:
            assert r.status == 200 and r.content_type == "video/mp4"
            assert await r.read() == mp4.read_bytes()
        async with session.get(url) as r:
            assert r.status == 401
    with av.open(str(mp4)) as f:
        [video], [audio] = f.streams.video, f.streams.audio
        assert (video.codec_context.width, video.codec_context.height) == (1280, 720)
        assert audio.codec_context.name == "aac"
        assert abs(f.duration / 1e6 - rec.duration_s) < 0.3
    # The MP4 counts in the account's recording space.
    used = await recordings.used_bytes(mem_server.tribune.store, s.account.id)
    assert used == rec.size_bytes + view["size_bytes"]
    # ...which the account's figures show (the billing page's "recording space used").
    status, account = await http("GET", f"{mem_server.url}/api/v1/account", s.api_key)
    assert status == 200 and account["account"]["usage"] == {"recording_bytes": used}
    # ...and goes with the event.
    status, _ = await http("DELETE", f"{mem_server.url}/api/v1/events/{s.event.id}", s.api_key)
    assert status == 200
    assert not mp4.exists()
    status, account = await http("GET", f"{mem_server.url}/api/v1/account", s.api_key)
    assert account["account"]["usage"] == {"recording_bytes": 0}
    store = mem_server.tribune.store
    assert await recording_exports.get(store, s.event.id, rec.id) is None


async def test_a_missing_track_file_fails_the_export_and_the_server_carries_on(
    mem_server,
) -> None:
    s = await mem_server.setup()
    broken = await recorded(mem_server, s.event.id)
    folder = Path(mem_server.tribune.config.data_dir) / "recordings" / s.event.id / broken.id
    (folder / "02-camera-video.webm").unlink()
    status, _ = await http("POST", base(mem_server, s, broken.id) + "/export", s.api_key)
    assert status == 202
    view = await settled(mem_server, s, broken.id)
    assert view["state"] == "failed"
    assert view["error"] == "missing track file 02-camera-video.webm"
    assert "url" not in view and not (folder / "export.mp4").exists()
    status, _ = await http("GET", base(mem_server, s, broken.id) + "/export.mp4", s.api_key)
    assert status == 404
    # The next export runs as usual; the failed one may be asked for again.
    fine = await recorded(mem_server, s.event.id, seconds=2.0)
    status, _ = await http("POST", base(mem_server, s, fine.id) + "/export", s.api_key)
    assert status == 202
    assert (await settled(mem_server, s, fine.id))["state"] == "done"
    status, body = await http("POST", base(mem_server, s, broken.id) + "/export", s.api_key)
    assert status == 202 and body["export"]["state"] in ("queued", "running", "failed")
    assert (await settled(mem_server, s, broken.id))["state"] == "failed"


async def test_a_running_recording_is_not_exported(mem_server) -> None:
    s = await mem_server.setup()
    store = mem_server.tribune.store
    rec = await recordings.begin(store, s.event.id, "someone", await store.now())
    status, body = await http("POST", base(mem_server, s, rec.id) + "/export", s.api_key)
    assert status == 409 and body["error"]["code"] == "conflict"
    status, body = await http("POST", base(mem_server, s, "rec_nope") + "/export", s.api_key)
    assert status == 404 and body["error"]["code"] == "not_found"
    status, _ = await http("POST", base(mem_server, s, rec.id) + "/export")
    assert status == 401


async def test_an_export_whose_server_died_shows_interrupted_and_starts_anew(mem_server) -> None:
    s = await mem_server.setup()
    store = mem_server.tribune.store
    rec = await recorded(mem_server, s.event.id, seconds=2.0)
    now = await store.now()
    dead = Export(ExportState.RUNNING, now - 100, "run_dead", beat=now - 60, progress=0.4)
    await store.hset(keys.recording_exports(s.event.id), rec.id, msgspec.msgpack.encode(dead))
    view = (await listed(mem_server, s, rec.id))["export"]
    assert view == {"state": "failed", "progress": 0.4, "error": "interrupted"}
    status, body = await http("POST", base(mem_server, s, rec.id) + "/export", s.api_key)
    assert status == 202 and body["export"] == {"state": "queued", "progress": 0.0}
    assert (await settled(mem_server, s, rec.id))["state"] == "done"


async def test_a_server_stopping_mid_export_marks_it_interrupted(make_server, redis_url) -> None:
    first = await make_server(redis_url=redis_url)
    s = await first.setup()
    rec = await recorded(first, s.event.id, seconds=20.0)
    status, _ = await http("POST", base(first, s, rec.id) + "/export", s.api_key)
    assert status == 202
    for _ in range(600):
        view = (await listed(first, s, rec.id))["export"]
        if view["state"] == "running" and view["progress"] > 0:
            break
        await asyncio.sleep(0.1)
    assert view["state"] == "running" and view["progress"] < 1, view
    await first.close()
    folder = Path(first.tribune.config.data_dir) / "recordings" / s.event.id / rec.id
    assert sorted(p.name for p in folder.iterdir()) == sorted(t.file for t in rec.tracks)
    second = await make_server(redis_url=redis_url)  # the same store, another process
    view = (await listed(second, s, rec.id))["export"]
    assert view["state"] == "failed" and view["error"] == "interrupted"


async def test_the_slide_shown_is_the_main_area_with_the_speaker_inset(mem_server) -> None:
    s = await mem_server.setup()
    store = mem_server.tribune.store
    slide = io.BytesIO()
    Image.new("RGB", (800, 600), (250, 250, 0)).save(slide, format="PNG")
    organizer = Person("org", "Olga", Role.ORGANIZER, Role.ORGANIZER, 0.0)
    # The deck is shown 1 s into the recording (the timeline notes the change).
    at = await store.now()
    await slides.replace_deck(store, s.event.id, organizer, [slide.getvalue()], ["talk.pdf"])
    rec = await recorded(mem_server, s.event.id, seconds=4.0, t0=at - 1.0)
    status, _ = await http("POST", base(mem_server, s, rec.id) + "/export", s.api_key)
    assert status == 202
    assert (await settled(mem_server, s, rec.id))["state"] == "done"
    mp4 = Path(mem_server.tribune.config.data_dir) / "recordings" / s.event.id / rec.id
    shots: dict[float, Any] = {}
    with av.open(str(mp4 / "export.mp4")) as f:
        for frame in f.decode(video=0):
            for t in (0.5, 3.5):
                if t not in shots and float(frame.time) >= t:
                    shots[t] = frame.to_ndarray(format="rgb24")
    centre = shots[0.5][350:370, 630:650].reshape(-1, 3).mean(axis=0)
    assert centre[1] > 150 and centre[0] < 60  # alice's green camera, alone
    centre = shots[3.5][350:370, 630:650].reshape(-1, 3).mean(axis=0)
    assert centre[0] > 200 and centre[1] > 200 and centre[2] < 60  # the yellow slide
    inset = shots[3.5][600:620, 1100:1120].reshape(-1, 3).mean(axis=0)
    assert inset[2] > 150 and inset[1] < 60  # bob, the speaker since 2 s, in the inset


async def test_no_new_export_when_the_recording_space_is_used_up(mem_server) -> None:
    s = await mem_server.setup(recording_mb=1)
    store = mem_server.tribune.store
    rec = await recorded(mem_server, s.event.id, seconds=1.0)
    other = await recordings.begin(store, s.event.id, "someone", 0.0)
    await recordings.finish(store, s.event.id, other.id, None, recordings.MB, 1.0)
    status, body = await http("POST", base(mem_server, s, rec.id) + "/export", s.api_key)
    assert status == 409 and body["error"]["code"] == "limit_reached"
    assert await recording_exports.get(store, s.event.id, rec.id) is None
