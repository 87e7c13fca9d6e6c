"""The stage through the real server: Socket.IO signaling + real aiortc peers on loopback UDP."""

from __future__ import annotations

import asyncio
from typing import Any

from aiortc import RTCPeerConnection, RTCSessionDescription

from tests.helpers import Client
from tests.media.conftest import PatternTrack, ToneTrack, wait_for


class WirePublisher:
    """A presenter's browser: publishes camera (and mic) through `media.publish`."""

    def __init__(self, client: Client, audio: bool = True) -> None:
        self.client = client
        self.pc = RTCPeerConnection()
        self.camera = PatternTrack(160, 120)
        self.t_cam = self.pc.addTransceiver(self.camera, direction="sendonly")
        self.mic = ToneTrack() if audio else None
        self.t_mic = self.pc.addTransceiver(self.mic, direction="sendonly") if self.mic else None

    async def publish(self, sources: tuple[str, ...] = ("camera", "mic")) -> dict[str, Any]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        mids = {self.t_cam.mid: "camera"}
        if self.t_mic is not None:
            mids[self.t_mic.mid] = "mic"
        mids = {m: s for m, s in mids.items() if s in sources}
        ack = await self.client.call("media.publish", {"sdp": self.pc.localDescription.sdp, "sources": mids})
        if ack["ok"]:
            await self.pc.setRemoteDescription(RTCSessionDescription(ack["sdp"], "answer"))
        return ack

    async def close(self) -> None:
        await self.pc.close()


class WireViewer:
    """An attendee's browser: `media.subscribe`, answers, counts frames per slot."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.pc = RTCPeerConnection()
        self.frames: dict[str, int] = {}
        self.tasks: list[asyncio.Task[None]] = []

        @self.pc.on("track")
        def on_track(track: Any) -> None:
            mid = next(t.mid for t in self.pc.getTransceivers() if t.receiver.track is track)
            self.tasks.append(asyncio.ensure_future(self._count(str(mid), track)))

    async def _count(self, mid: str, track: Any) -> None:
        self.frames.setdefault(mid, 0)
        try:
            while True:
                await track.recv()
                self.frames[mid] += 1
        except Exception:
            pass

    async def subscribe(self) -> dict[str, Any]:
        ack = await self.client.call("media.subscribe")
        assert ack["ok"], ack
        await self.pc.setRemoteDescription(RTCSessionDescription(ack["sdp"], "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        assert (await self.client.call("media.answer", {"sdp": self.pc.localDescription.sdp}))["ok"]
        return ack

    async def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.pc.close()


async def test_publish_through_the_room_reaches_every_viewer(mem_server) -> None:
    s = await mem_server.setup()
    pres = WirePublisher(await s.join("presenter"))
    viewers = [WireViewer(await s.join("participant")) for _ in range(3)]
    try:
        for v in viewers:
            await v.subscribe()
        ack = await pres.publish()
        assert ack["ok"], ack
        tracks = await viewers[0].client.wait_for("media.tracks", lambda d: len(d["tracks"]) == 2)
        video_mid = next(t["mid"] for t in tracks["tracks"] if t["source"] == "camera")
        stage = await viewers[0].client.wait_for("stage.changed", lambda d: d["stage"]["camera"] and d["stage"]["mic"])
        assert "rev" in stage
        sent_before = pres.camera.sent
        await asyncio.sleep(3)
        sent = pres.camera.sent - sent_before
        for v in viewers:
            assert v.frames.get(video_mid, 0) >= 0.9 * sent - 5, (v.frames, sent)
        # a late viewer sees video quickly (keyframe on demand)
        late = WireViewer(await s.join("participant"))
        viewers.append(late)
        await late.subscribe()
        took = await wait_for(lambda: late.frames.get(video_mid, 0) > 0, 5, "late first frame")
        print(f"late viewer's first frame after {took:.2f}s")
        # the presenter stops his camera: the room is told, the viewers stop getting frames
        assert (await pres.client.call("media.stop", {"source": "camera"}))["ok"]
        await viewers[0].client.wait_for("stage.changed", lambda d: d["stage"]["camera"] == [])
        await viewers[0].client.wait_for("media.tracks", lambda d: [t["source"] for t in d["tracks"]] == ["mic"])
        # and back on
        assert (await pres.publish())["ok"]
        await viewers[0].client.wait_for("media.tracks", lambda d: len(d["tracks"]) == 2 and d is not tracks)
    finally:
        for v in viewers:
            await v.close()
        await pres.close()


async def test_ninth_camera_is_stage_full_until_one_stops(mem_server) -> None:
    s = await mem_server.setup(presenter_seats=12)
    pubs = []
    try:
        for i in range(9):
            _, token = await mem_server.invite(s.event, "presenter", name=f"P{i}")
            c = await mem_server.client(token, device=f"presenter-device-{i}")
            pubs.append(WirePublisher(c, audio=False))
        acks = [await p.publish(("camera",)) for p in pubs]
        assert [a["ok"] for a in acks] == [True] * 8 + [False]
        assert acks[8]["error"]["code"] == "stage_full"
        assert (await pubs[0].client.call("media.stop", {"source": "camera"}))["ok"]
        assert (await pubs[8].publish(("camera",)))["ok"]  # the freed slot
    finally:
        for p in pubs:
            await p.close()


async def test_participants_cannot_publish_in_a_webinar(mem_server) -> None:
    s = await mem_server.setup()
    p = WirePublisher(await s.join("participant"))
    try:
        ack = await p.publish()
        assert ack["error"]["code"] == "forbidden"
    finally:
        await p.close()


async def test_slot_is_kept_through_a_reconnect_within_grace(make_server) -> None:
    server = await make_server(grace=30.0)
    s = await server.setup(presenter_seats=4)
    s.account.plan  # noqa: B018 - documents the plan in use
    store = server.tribune.store
    await store.hset("accounts", s.account.id, _with_one_camera(await store.hget("accounts", s.account.id)))
    first = WirePublisher(await server.client(s.tokens["presenter"], device="presenter-aaaa"), audio=False)
    other = WirePublisher(await server.client(s.tokens["organizer"], device="organizer-bbb"), audio=False)
    try:
        assert (await first.publish(("camera",)))["ok"]
        pid = (await first.client.wait_for("room.state"))["you"]["person"]
        await first.client.close()  # a network blip
        await other.client.wait_for("roster.updated", lambda d: d["person"]["person"] == pid and not d["person"]["connected"])
        refused = await other.publish(("camera",))
        assert refused["error"]["code"] == "stage_full"  # still his during grace
        back = await server.client(s.tokens["presenter"], device="presenter-aaaa")
        state = await back.wait_for("room.state")
        assert state["you"]["person"] == pid
        again = WirePublisher(back, audio=False)
        assert (await again.publish(("camera",)))["ok"]  # he republishes into his own slot
        await again.close()
    finally:
        await first.close()
        await other.close()


async def test_demoted_presenter_leaves_the_stage(mem_server) -> None:
    s = await mem_server.setup()
    org = await s.join("organizer")
    part = await s.join("participant")
    pid = (await part.wait_for("room.state"))["you"]["person"]
    assert (await org.call("role.set", {"person": pid, "role": "presenter"}))["ok"]
    await part.wait_for("room.state", lambda d: d["you"]["role"] == "presenter")
    pub = WirePublisher(part, audio=False)
    try:
        assert (await pub.publish(("camera",)))["ok"]
        await org.wait_for("stage.changed", lambda d: d["stage"]["camera"] == [pid])
        assert (await org.call("role.set", {"person": pid, "role": "participant"}))["ok"]
        await org.wait_for("stage.changed", lambda d: d["stage"]["camera"] == [])
        assert (await part.wait_for("media.stopped"))["source"] is None
    finally:
        await pub.close()


def _with_one_camera(raw: bytes | None) -> bytes:
    from room.records import Account, decode, encode

    assert raw is not None
    account = decode(raw, Account)
    import msgspec

    account.plan = msgspec.structs.replace(account.plan, stage_cameras=1)
    return encode(account)
