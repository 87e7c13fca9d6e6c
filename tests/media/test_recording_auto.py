"""Auto-recording: an event whose `auto_record` setting is on records itself when it goes
live, through the real server, with a real aiortc presenter on stage."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av

from room import recordings
from tests.helpers import http
from tests.media.test_stage_wire import WirePublisher


async def test_an_auto_record_event_records_itself_when_it_goes_live(mem_server) -> None:
    s = await mem_server.setup()
    api = f"{mem_server.url}/api/v1/events/{s.event.id}"
    status, event = await http("PATCH", api, s.api_key, {"settings": {"auto_record": True}})
    assert status == 200 and event["settings"]["auto_record"] is True, event
    organizer = await s.join("organizer")
    pres = WirePublisher(await s.join("presenter"))
    watcher = await s.join("participant")
    try:
        assert (await pres.publish())["ok"]
        await watcher.wait_for("media.tracks", lambda d: len(d["tracks"]) == 2)
        assert (await organizer.call("event.start"))["ok"]
        started = await watcher.wait_for("recording.status", lambda d: d["state"] == "recording")
        rec_id = started["id"]
        await asyncio.sleep(3)
        assert (await organizer.call("event.end"))["ok"]  # the recording stops with it
        await watcher.wait_for("recording.status", lambda d: d["state"] == "stopped")
    finally:
        await pres.close()
    rec = await recordings.get(mem_server.tribune.store, s.event.id, rec_id)
    assert rec is not None and rec.by == "auto" and rec.state == "stopped"
    video = next(t for t in rec.tracks if t.kind == "video")
    folder = Path(mem_server.tribune.config.data_dir) / "recordings" / s.event.id / rec_id
    with av.open(str(folder / video.file)) as f:
        assert sum(1 for p in f.demux(f.streams.video[0]) if p.size) > 10


async def test_without_space_it_goes_live_unrecorded_and_warns_the_staff(mem_server) -> None:
    s = await mem_server.setup(recording_mb=0)
    api = f"{mem_server.url}/api/v1/events/{s.event.id}"
    status, _ = await http("PATCH", api, s.api_key, {"settings": {"auto_record": True}})
    assert status == 200
    organizer = await s.join("organizer")
    manager = await mem_server.client(s.tokens["collaborator"], namespace="/manage")
    watcher = await s.join("participant")
    ack = await organizer.call("event.start")
    assert ack["ok"] and ack["state"] == "live", ack  # going live is not refused
    refused = {"state": "stopped", "id": "", "warning": "limit_reached"}
    assert await organizer.wait_for("recording.status") == refused
    assert await manager.wait_for("recording.status") == refused
    assert await recordings.list_for(mem_server.tribune.store, s.event.id) == []
    # the warning is for the staff: the participant, who saw the event go live, has none
    await watcher.wait_for("event.status", lambda d: d["event"]["state"] == "live")
    assert "recording.status" not in watcher.received


async def test_without_the_setting_going_live_records_nothing(mem_server) -> None:
    s = await mem_server.setup()
    organizer = await s.join("organizer")
    assert (await organizer.call("event.start"))["ok"]
    assert await recordings.list_for(mem_server.tribune.store, s.event.id) == []
