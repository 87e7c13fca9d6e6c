"""`bench/media.py`'s client side: the machine readings, the pre-encoded media, the
publisher and the harness subscribers (probes), which count packets and decode nothing."""

from __future__ import annotations

import asyncio
import fractions
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aioice.ice
import av
from aiortc import (
    MediaStreamTrack,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.codecs.vpx import Vp8Encoder

FPS = 30
VIDEO_BITRATE = 1_500_000
LOOP_FRAMES = 150  # 5 s of video, looped; frame 0 is the only keyframe
VIDEO_SLOTS, AUDIO_SLOTS = 9, 8  # 8 cameras + 1 screen, 8 microphones
CLK_TCK = os.sysconf("SC_CLK_TCK")


GC_PAUSES: list[float] = []


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all processes, all cores)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK


def udp_receive_drops() -> int:
    lines = [x for x in Path("/proc/net/snmp").read_text().splitlines() if x.startswith("Udp:")]
    header, values = lines[0].split(), lines[1].split()
    return int(values[header.index("RcvbufErrors")])


def watch_gc() -> None:
    import gc

    started = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            GC_PAUSES.append(time.perf_counter() - started[0])

    gc.callbacks.append(callback)


def loopback_only() -> None:
    """Gather only 127.0.0.1 host candidates, in this process."""
    aioice.ice.get_host_addresses = lambda **_: ["127.0.0.1"]


# -- pre-encoded media (client side, once) ------------------------------------


def encode_video() -> list[bytes]:
    graph = av.filter.Graph()
    source = graph.add("testsrc2", f"size=1280x720:rate={FPS}")
    sink = graph.add("buffersink")
    source.link_to(sink)
    graph.configure()
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = 1280, 720, "yuv420p"
    codec.bit_rate = VIDEO_BITRATE
    codec.time_base = fractions.Fraction(1, FPS)
    codec.framerate = FPS
    codec.gop_size = 10 * LOOP_FRAMES
    rate = str(VIDEO_BITRATE)
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "minrate": rate,
        "maxrate": rate,
        "bufsize": rate,
    }
    frames: list[bytes] = []
    for i in range(LOOP_FRAMES):
        frame = sink.pull().reformat(format="yuv420p")
        frame.pts = i
        frame.pict_type = av.video.frame.PictureType.NONE
        frames += [bytes(p) for p in codec.encode(frame)]
    frames += [bytes(p) for p in codec.encode(None)]
    return frames[:LOOP_FRAMES]


def encode_audio() -> list[bytes]:
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.format, codec.layout = 48000, "s16", "stereo"
    codec.bit_rate = 32000
    codec.time_base = fractions.Fraction(1, 48000)
    packets: list[bytes] = []
    for n in range(50):
        samples = bytearray()
        for i in range(960):
            v = int(8000 * math.sin(2 * math.pi * 440 * (n * 960 + i) / 48000))
            samples += v.to_bytes(2, "little", signed=True) * 2
        frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
        frame.planes[0].update(bytes(samples))
        frame.sample_rate, frame.pts = 48000, n * 960
        packets += [bytes(p) for p in codec.encode(frame)]
    return packets


# -- the publisher -------------------------------------------------------------


class PacketTrack(MediaStreamTrack):
    """Yields pre-encoded packets at their real rate; a PLI restarts the loop at
    its keyframe, so the stream stays decodable."""

    def __init__(self, kind: str, packets: list[bytes], rate: int, clock: int) -> None:
        super().__init__()
        self.kind = kind
        self._packets, self._period, self._ticks = packets, 1 / rate, clock // rate
        self._n = self._i = 0
        self._start: float | None = None
        self.keyframe_wanted = False

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self._start is None:
            self._start = time.perf_counter()
        delay = self._start + self._n * self._period - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if self.keyframe_wanted or self._i >= len(self._packets):
            self.keyframe_wanted, self._i = False, 0
        packet = av.Packet(self._packets[self._i])
        packet.pts = self._n * self._ticks
        packet.time_base = fractions.Fraction(1, self._ticks * round(1 / self._period))
        self._n += 1
        self._i += 1
        return packet


class RecordingVp8(Vp8Encoder):
    """The publisher's packetizer, noting when each picture id went out."""

    def __init__(self, sent: dict[int, float]) -> None:
        super().__init__()
        self.sent = sent

    def pack(self, packet: av.Packet) -> tuple[list[bytes], int]:
        self.sent[self.picture_id] = time.perf_counter()
        return super().pack(packet)


class Publisher:
    def __init__(self, video: list[bytes], audio: list[bytes]) -> None:
        self.pc = RTCPeerConnection()
        self.sent: dict[int, float] = {}
        self.video = PacketTrack("video", video, FPS, 90000)
        self.audio = PacketTrack("audio", audio, 50, 48000)
        video_tx = self.pc.addTransceiver(self.video, direction="sendonly")
        self.pc.addTransceiver(self.audio, direction="sendonly")
        video_tx.sender._RTCRtpSender__encoder = RecordingVp8(self.sent)  # type: ignore[attr-defined]
        video_tx.sender._send_keyframe = self._keyframe  # type: ignore[method-assign]

    def _keyframe(self) -> None:
        self.video.keyframe_wanted = True

    async def start(self, rpc: Rpc) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        video_mid, audio_mid = (t.mid for t in self.pc.getTransceivers())
        sources = {video_mid: "camera", audio_mid: "mic"}
        reply = await rpc.call(
            "publish", id="presenter", sdp=self.pc.localDescription.sdp, sources=sources
        )
        await self.pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
        deadline = time.monotonic() + 10
        while self.pc.connectionState != "connected":
            if time.monotonic() > deadline:
                raise RuntimeError("publisher did not connect")
            await asyncio.sleep(0.02)


# -- the bench's calls to the server process --------------------------------


class Rpc:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.lock = asyncio.Lock()

    async def call(self, op: str, **args: Any) -> dict[str, Any]:
        async with self.lock:
            self.writer.write(json.dumps({"op": op, **args}).encode() + b"\n")
            reply: dict[str, Any] = json.loads(await self.reader.readline())
        if "error" in reply:
            raise RuntimeError(f"server {op}: {reply['error']}")
        return reply


# -- harness subscribers: count packets, decode nothing ------------------------


class Probe:
    """A subscriber that answers like a browser but only counts what arrives.

    It hooks its DTLS transport right after SRTP decryption, so no jitter
    buffer, decoder or RTCP runs on the client side."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.pc = RTCPeerConnection()
        self.video_pt = -1
        self.video_frames = self.audio_packets = self.packets = 0
        self.arrivals: dict[int, float] = {}
        self.subscribed_at = 0.0
        self.first_video: float | None = None

    async def start(self, rpc: Rpc) -> None:
        self.subscribed_at = time.perf_counter()
        offer = await rpc.call("subscribe", id=self.name)
        await self.pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        for t in self.pc.getTransceivers():
            t.receiver.receive = _no_receive  # type: ignore[method-assign]
            if t.kind == "video" and self.video_pt < 0:
                self.video_pt = t._codecs[0].payloadType
        transport = self.pc.getTransceivers()[0].receiver.transport
        transport._handle_rtp_data = self._on_rtp  # type: ignore[method-assign]
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await rpc.call("answer", id=self.name, sdp=self.pc.localDescription.sdp)

    async def _on_rtp(self, data: bytes, arrival_time_ms: int) -> None:
        self.packets += 1
        if data[1] & 0x7F != self.video_pt:
            self.audio_packets += 1
            return
        if not data[1] & 0x80:  # not the last packet of the frame
            return
        now = time.perf_counter()
        self.video_frames += 1
        if self.first_video is None:
            self.first_video = now
        pos = 12 + 4 * (data[0] & 0x0F)
        if data[0] & 0x10:
            pos += 4 + 4 * int.from_bytes(data[pos + 2 : pos + 4], "big")
        if data[pos] & 0x80 and data[pos + 1] & 0x80:  # VP8 descriptor with PictureID
            picture_id = data[pos + 2] & 0x7F
            if data[pos + 2] & 0x80:
                picture_id = (picture_id << 8) | data[pos + 3]
            self.arrivals.setdefault(picture_id, now)


async def _no_receive(parameters: Any) -> None:
    return None
