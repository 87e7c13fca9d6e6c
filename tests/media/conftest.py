"""Real aiortc client peers for the media tests, on loopback UDP only.

Clients here are what a browser would be: a publisher whose synthetic tracks
aiortc encodes (VP8/H264 and Opus) on the client side, and viewers that answer
the SFU's subscribe offer and decode what they receive.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aioice.ice
import av
import pytest
from aiortc import (
    MediaStreamTrack,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError

from media import Sfu, Source


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Gather only a 127.0.0.1 host candidate: no dependence on the machine's NICs."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda **_: ["127.0.0.1"])


class PatternTrack(VideoStreamTrack):
    """30 fps synthetic video whose every frame differs, so every frame is coded."""

    def __init__(self, width: int = 320, height: int = 240) -> None:
        super().__init__()
        self.width, self.height = width, height
        self.sent = 0
        size = width * height
        self._planes = [bytes(((x + i * 37) * 7) & 0xFF for x in range(size)) for i in range(8)]
        self._chroma = bytes([128]) * (size // 4)

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        frame.planes[0].update(self._planes[self.sent % len(self._planes)])
        frame.planes[1].update(self._chroma)
        frame.planes[2].update(self._chroma)
        frame.pts, frame.time_base = pts, time_base
        self.sent += 1
        return frame


class ToneTrack(AudioStreamTrack):
    """Silence, counted: aiortc encodes it to Opus on the client side."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()
        self.sent += 1
        return frame  # type: ignore[return-value]


async def wait_for(predicate: Any, limit: float, what: str = "condition") -> float:
    """Poll ``predicate`` until true; returns the seconds it took."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > limit:
            raise AssertionError(f"timed out after {limit}s waiting for {what}")
        await asyncio.sleep(0.01)
    return time.monotonic() - start


class ClientPublisher:
    """A presenter's browser: one connection sending camera and mic."""

    def __init__(
        self, sfu: Sfu, publisher_id: str, *, video: bool = True, audio: bool = True
    ) -> None:
        self.sfu = sfu
        self.id = publisher_id
        self.pc = RTCPeerConnection()
        self.camera = PatternTrack() if video else None
        self.mic = ToneTrack() if audio else None
        self.mids: dict[str, Source] = {}
        for track, source in ((self.camera, "camera"), (self.mic, "mic")):
            if track is not None:
                transceiver = self.pc.addTransceiver(track, direction="sendonly")
                self._pending_sources = getattr(self, "_pending_sources", [])
                self._pending_sources.append((transceiver, source))

    async def publish(self, sources: list[Source] | None = None) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.mids = {
            t.mid: s
            for t, s in self._pending_sources
            if t.mid and (sources is None or s in sources)
        }
        answer = await self.sfu.publish(self.id, self.pc.localDescription.sdp, self.mids)
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    async def connected(self, limit: float = 10) -> None:
        await wait_for(lambda: self.pc.connectionState == "connected", limit, "publisher connected")

    async def close(self) -> None:
        await self.pc.close()


class ClientViewer:
    """An attendee's browser: answers the SFU's offer, decodes every slot."""

    def __init__(self, sfu: Sfu, subscriber_id: str, *, decode: bool = True) -> None:
        self.sfu = sfu
        self.id = subscriber_id
        self.pc = RTCPeerConnection()
        self.frames: dict[str, int] = {}
        self.first_frame_at: dict[str, float] = {}
        self.sizes: dict[str, tuple[int, int]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.subscribed_at = 0.0

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            mid = next(t.mid for t in self.pc.getTransceivers() if t.receiver.track is track)
            self._tasks.append(asyncio.ensure_future(self._consume(str(mid), track)))

    async def _consume(self, mid: str, track: MediaStreamTrack) -> None:
        self.frames[mid] = 0
        try:
            while True:
                frame = await track.recv()
                if mid not in self.first_frame_at:
                    self.first_frame_at[mid] = time.monotonic()
                if isinstance(frame, av.VideoFrame):
                    self.sizes[mid] = (frame.width, frame.height)
                self.frames[mid] += 1
        except MediaStreamError:
            pass

    async def subscribe(self, skip_publisher: str | None = None) -> None:
        self.subscribed_at = time.monotonic()
        offer = await self.sfu.subscribe(self.id, skip_publisher=skip_publisher)
        await self.pc.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self.sfu.answer(self.id, self.pc.localDescription.sdp)

    async def connected(self, limit: float = 10) -> None:
        await wait_for(lambda: self.pc.connectionState == "connected", limit, "viewer connected")

    def count(self, mid: str) -> int:
        return self.frames.get(mid, 0)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pc.close()


class Peers:
    """Makes client peers and closes every one of them when the test ends."""

    wait_for = staticmethod(wait_for)

    def __init__(self) -> None:
        self.made: list[ClientPublisher | ClientViewer] = []

    def publisher(self, sfu: Sfu, name: str, **kw: Any) -> ClientPublisher:
        self.made.append(ClientPublisher(sfu, name, **kw))
        return self.made[-1]  # type: ignore[return-value]

    def viewer(self, sfu: Sfu, name: str) -> ClientViewer:
        self.made.append(ClientViewer(sfu, name))
        return self.made[-1]  # type: ignore[return-value]

    async def close(self) -> None:
        for peer in self.made:
            await peer.close()


@pytest.fixture
async def peers() -> AsyncIterator[Peers]:
    made = Peers()
    yield made
    await made.close()


@pytest.fixture
async def sfu() -> AsyncIterator[Sfu]:
    server = Sfu(video_slots=2, audio_slots=2, connect_timeout=15)
    yield server
    await server.close()
