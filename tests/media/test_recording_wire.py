"""Recording through the real server: Socket.IO `recording.*` + a real aiortc publisher."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import aiortc.codecs.vpx as vpx
import av
import pytest

from room import recordings
from tests.helpers import http
from tests.media.test_stage_wire import WirePublisher


def count_codecs(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts constructions of aiortc's VP8 decoder and encoder in this process (the server
    runs in it too): only the test's publisher may make one, an encoder."""
    made = {"decoder": 0, "encoder": 0}
    for name, cls in (("decoder", vpx.Vp8Decoder), ("encoder", vpx.Vp8Encoder)):
        original = cls.__init__

        def counting(self_: Any, *a: Any, _o: Any = original, _n: str = name, **k: Any) -> None:
            made[_n] += 1
            _o(self_, *a, **k)

        monkeypatch.setattr(cls, "__init__", counting)
    return made


async def test_a_presenter_records_ten_seconds_of_vp8_without_any_codec(
    mem_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = count_codecs(monkeypatch)
    s = await mem_server.setup()
    pres = WirePublisher(await s.join("presenter"))
    watcher = await s.join("participant")
    manager = await mem_server.client(s.tokens["collaborator"], namespace="/manage")
    try:
        assert (await pres.publish())["ok"]
        await watcher.wait_for("media.tracks", lambda d: len(d["tracks"]) == 2)
        await asyncio.sleep(1)  # connected and sending
        ack = await pres.client.call("recording.start")
        assert ack["ok"], ack
        rec = ack["recording"]
        assert rec["state"] == "recording" and rec["id"].startswith("rec_")
        for c in (watcher, manager):
            await c.wait_for(
                "recording.status", lambda d: d == {"state": "recording", "id": rec["id"]}
            )
        late = await s.join("participant")  # joins while it runs: told at once
        await late.wait_for("recording.status", lambda d: d["state"] == "recording")
        sent_before = pres.camera.sent
        await asyncio.sleep(10)
        sent = pres.camera.sent - sent_before
        ack = await manager.call("recording.stop")  # a collaborator may stop it, from /manage
        assert ack == {"ok": True, "recording": {"id": rec["id"], "state": "stopped"}}
        await watcher.wait_for("recording.status", lambda d: d["state"] == "stopped")
    finally:
        await pres.close()

    store = mem_server.tribune.store
    [stored] = await recordings.list_for(store, s.event.id)
    assert stored.id == rec["id"] and stored.state == "stopped"
    assert 9 < stored.duration_s < 13
    folder = Path(mem_server.tribune.config.data_dir) / "recordings" / s.event.id / rec["id"]
    manifest = json.loads((folder / "manifest.json").read_text())
    sizes = sum((folder / t["file"]).stat().st_size for t in manifest["tracks"])
    assert stored.size_bytes == sizes > 0
    video = next(t for t in stored.tracks if t.kind == "video")
    assert video.codec == "VP8" and video.started < 1
    person = (await pres.client.wait_for("room.state"))["you"]["person"]
    assert video.person == person
    with av.open(str(folder / video.file)) as f:
        assert f.streams.video[0].codec_context.name == "vp8"
        frames = sum(1 for p in f.demux(f.streams.video[0]) if p.size)
    assert abs(frames - sent) <= 0.05 * sent, (frames, sent)
    assert made == {"decoder": 0, "encoder": 1}

    # The listing, and the track's download with the API key only.
    status, body = await http(
        "GET", f"{mem_server.url}/api/v1/events/{s.event.id}/recordings", s.api_key
    )
    assert status == 200
    [listed] = body["recordings"]
    assert set(listed) == {"id", "started_at", "duration_s", "size_bytes", "tracks", "parts"}
    [part] = listed["parts"]
    assert part["index"] == 1 and part["size_bytes"] == sizes
    assert {t["part"] for t in listed["tracks"]} == {1}
    assert listed["id"] == rec["id"] and listed["size_bytes"] == sizes
    assert listed["duration_s"] == pytest.approx(stored.duration_s, abs=0.01)
    assert {(t["kind"], t["codec"], t["person"]) for t in listed["tracks"]} == {
        ("video", "VP8", person),
        ("audio", "opus", person),
    }
    url = mem_server.url + next(t["url"] for t in listed["tracks"] if t["kind"] == "video")
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers={"Authorization": f"Bearer {s.api_key}"}) as r:
            assert r.status == 200 and r.content_type == "video/webm"
            assert await r.read() == (folder / video.file).read_bytes()
        async with session.get(url) as r:
            assert r.status == 401
        async with session.get(
            url.rsplit("/", 1)[0] + "/manifest.json",
            headers={"Authorization": f"Bearer {s.api_key}"},
        ) as r:
            assert r.status == 404
    # the recording's files go with the event
    status, _ = await http("DELETE", f"{mem_server.url}/api/v1/events/{s.event.id}", s.api_key)
    assert status == 200
    assert not folder.exists() and not folder.parent.exists()


async def test_a_participant_may_not_record(mem_server) -> None:
    s = await mem_server.setup()
    participant = await s.join("participant")
    for name in ("recording.start", "recording.stop"):
        ack = await participant.call(name)
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden", ack


async def test_no_recording_space_left_is_limit_reached(mem_server) -> None:
    s = await mem_server.setup(recording_mb=0)
    organizer = await s.join("organizer")
    ack = await organizer.call("recording.start")
    assert ack["ok"] is False and ack["error"]["code"] == "limit_reached", ack
    assert await recordings.list_for(mem_server.tribune.store, s.event.id) == []
    ack = await organizer.call("recording.stop")
    assert ack["error"]["code"] == "not_found"


async def test_a_running_recording_stops_cleanly_when_the_space_runs_out(mem_server) -> None:
    s = await mem_server.setup(recording_mb=2)
    store = mem_server.tribune.store
    # Another recording of the account already takes all but 400 KB of the 2 MB: the
    # 90 % band (210 KB) is wider than what a 2 s watch round sees written (~130 KB).
    earlier = await recordings.begin(store, s.event.id, "someone", 0.0)
    await recordings.finish(store, s.event.id, earlier.id, None, 2 * recordings.MB - 400_000, 1.0)
    pres = WirePublisher(await s.join("presenter"))
    organizer = await s.join("organizer")
    try:
        assert (await pres.publish())["ok"]
        await organizer.wait_for("media.tracks", lambda d: len(d["tracks"]) == 2)
        ack = await organizer.call("recording.start")
        assert ack["ok"], ack
        rec_id = ack["recording"]["id"]
        warned = await organizer.wait_for("recording.status", lambda d: "warning" in d)
        assert warned == {"state": "recording", "id": rec_id, "warning": "quota_90"}
        stopped = await organizer.wait_for(
            "recording.status", lambda d: d["state"] == "stopped", timeout=20
        )
        assert stopped == {"state": "stopped", "id": rec_id, "reason": "quota"}
        refused = await organizer.call("recording.start")
        assert refused["error"]["code"] == "limit_reached"
    finally:
        await pres.close()
    done = await recordings.get(store, s.event.id, rec_id)
    assert done is not None and done.state == "stopped" and done.reason == "quota"
    assert done.size_bytes >= 400_000
    folder = Path(mem_server.tribune.config.data_dir) / "recordings" / s.event.id / rec_id
    video = next(t for t in done.tracks if t.kind == "video")
    with av.open(str(folder / video.file)) as f:  # intact: the file closed properly
        assert sum(1 for p in f.demux(f.streams.video[0]) if p.size) > 10
