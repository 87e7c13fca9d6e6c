"""The active speaker through the real server: two presenters publish real aiortc audio whose
RTP packets carry the RFC 6464 audio level (aiortc's sender sets it from each frame it
encodes: `RTCRtpSender._next_encoded_frame` → `rtp.compute_audio_level_dbov`), one loud,
one nearly silent; a Socket.IO client is told `media.speaker` naming the loud one, then the
other once the two swap, and the event's timeline notes both."""

from __future__ import annotations

import asyncio
import struct

import av
from aiortc.mediastreams import AudioStreamTrack

from room import timeline
from tests.helpers import Client
from tests.media.test_stage_wire import WirePublisher

LOUD = 8000  # a square wave of ±8000: about -12 dBov
FAINT = 20  # about -64 dBov: below the speaking threshold


class LevelTrack(AudioStreamTrack):
    """A square wave whose amplitude the test sets: aiortc encodes it to Opus and puts its
    level (RFC 6464) in every packet's header extension."""

    def __init__(self, amplitude: int) -> None:
        super().__init__()
        self.amplitude = amplitude

    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()
        assert isinstance(frame, av.AudioFrame)
        a = self.amplitude
        for plane in frame.planes:
            plane.update(struct.pack("<hh", a, -a) * (plane.buffer_size // 4))
        return frame


class LevelPublisher(WirePublisher):
    def __init__(self, client: Client, amplitude: int) -> None:
        super().__init__(client, audio=False)
        self.voice = LevelTrack(amplitude)
        self.t_mic = self.pc.addTransceiver(self.voice, direction="sendonly")


async def person(client: Client) -> str:
    return str((await client.wait_for("room.state"))["you"]["person"])


async def test_the_room_is_told_who_speaks_by_the_levels_his_packets_carry(mem_server) -> None:
    s = await mem_server.setup()
    _, second = await mem_server.invite(s.event, "presenter", name="Second presenter")
    loud = LevelPublisher(await s.join("presenter"), LOUD)
    faint = LevelPublisher(await mem_server.client(second), FAINT)
    watcher = await s.join("participant")
    manager = await mem_server.client(s.tokens["collaborator"], namespace="/manage")
    ids = [await person(p.client) for p in (loud, faint)]
    try:
        for p in (faint, loud):
            ack = await p.publish()
            assert ack["ok"], ack
            # the SFU's answer keeps the extension, so a browser sends it
            assert "urn:ietf:params:rtp-hdrext:ssrc-audio-level" in ack["sdp"]
        await watcher.wait_for("media.tracks", lambda d: len(d["tracks"]) == 4)
        first = await watcher.wait_for("media.speaker", timeout=15)
        assert first == {"person": ids[0], "source": "mic"}
        await manager.wait_for("media.speaker", lambda d: d["person"] == ids[0])
        assert all(d["person"] == ids[0] for d in watcher.received["media.speaker"])

        # they swap: the other one speaks, the first falls silent
        loud.voice.amplitude, faint.voice.amplitude = FAINT, LOUD
        await watcher.wait_for("media.speaker", lambda d: d["person"] == ids[1], timeout=15)
        told = [d["person"] for d in watcher.received["media.speaker"]]
        assert told == sorted(told, key=lambda p: p == ids[1])  # one switch, no flicker

        # the timeline notes each change (after the emit: wait for the second note)
        async def noted() -> list[dict[str, object]]:
            entries = await timeline.read(mem_server.tribune.store, s.event.id)
            return [e.data for e in entries if e.kind == timeline.SPEAKER]

        for _ in range(100):
            if len(await noted()) >= 2:
                break
            await asyncio.sleep(0.05)
        assert await noted() == [{"person": ids[0]}, {"person": ids[1]}]
    finally:
        for p in (loud, faint):
            await p.close()


async def test_the_speaker_reaches_every_node_from_the_media_owner(
    make_server, redis_url: str
) -> None:
    """Node A owns the event's media (its viewer subscribed first); the presenter publishes
    through node B; a participant and a manager on node B are told who speaks."""
    a = await make_server(redis_url=redis_url, media_lease=1.0, media_every=0.2)
    b = await make_server(redis_url=redis_url, media_lease=1.0, media_every=0.2)
    s = await a.setup()
    on_a = await a.client(s.tokens["participant"])
    pres = LevelPublisher(await b.client(s.tokens["presenter"]), LOUD)
    watcher = await b.client(s.tokens["participant"])
    manager = await b.client(s.tokens["collaborator"], namespace="/manage")
    me = await person(pres.client)
    try:
        assert (await on_a.call("media.subscribe"))["ok"]  # the first media call: A owns it
        assert (await pres.publish())["ok"]  # on B, routed to A
        assert s.event.id in a.tribune.media.sfus and not b.tribune.media.sfus
        for c in (watcher, manager, on_a):
            assert await c.wait_for("media.speaker", timeout=15) == {"person": me, "source": "mic"}
    finally:
        await pres.close()
