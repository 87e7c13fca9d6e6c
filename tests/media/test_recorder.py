"""Recording through the SFU with real aiortc peers: WebM files, written without any codec."""

from __future__ import annotations

import asyncio
import fractions
import json
import time
from pathlib import Path
from typing import Any

import aiortc.codecs.vpx as vpx
import av
import pytest

from media import Sfu
from media.assembler import EncodedFrame
from media.recorder_track import TrackFile, vp8_frame, vp8_size
from media.recorder_writer import FrameWriter
from tests.media.conftest import Peers, wait_for


class Counted:
    """Counts constructions of aiortc's VP8 decoder and encoder in this process."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.made: dict[str, int] = {"decoder": 0, "encoder": 0}
        for name, cls in (("decoder", vpx.Vp8Decoder), ("encoder", vpx.Vp8Encoder)):
            original = cls.__init__

            def counting(self_: Any, *a: Any, _o: Any = original, _n: str = name, **k: Any) -> None:
                self.made[_n] += 1
                _o(self_, *a, **k)

            monkeypatch.setattr(cls, "__init__", counting)


def test_vp8_frame_strips_the_payload_descriptor() -> None:
    # X=0, S=1, PID=0 descriptor; then a keyframe header 160x120
    header = b"\x50\x01\x00\x9d\x01\x2a" + (160).to_bytes(2, "little") + (120).to_bytes(2, "little")
    frame = vp8_frame((b"\x10" + header, b"\x00" + b"rest"))
    assert frame == header + b"rest"
    assert vp8_size(frame) == (160, 120)
    assert vp8_size(b"\x51" + header[1:]) is None  # not a keyframe


async def test_ten_seconds_recorded_as_vp8_and_opus_webm(
    sfu: Sfu, peers: Peers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = Counted(monkeypatch)
    pub = peers.publisher(sfu, "alice")
    await pub.publish()
    await pub.connected()
    await wait_for(lambda: sfu.stats().publishers == 1, 10, "published")
    recorder = sfu.start_recording(tmp_path / "rec")
    assert pub.camera is not None
    sent_before = pub.camera.sent
    await asyncio.sleep(10)
    sent = pub.camera.sent - sent_before
    manifest = sfu.stop_recording()
    assert manifest is not None and sfu.recorder is None
    assert json.loads((tmp_path / "rec" / "manifest.json").read_text()) == manifest
    kinds = {t["kind"]: t for t in manifest["tracks"]}
    assert set(kinds) == {"video", "audio"}
    assert kinds["video"]["person"] == "alice" and kinds["video"]["codec"] == "VP8"

    with av.open(str(tmp_path / "rec" / kinds["video"]["file"])) as video:
        stream = video.streams.video[0]
        assert stream.codec_context.name == "vp8"
        packets = [p for p in video.demux(stream) if p.size]
    assert abs(len(packets) - sent) <= 0.05 * sent, (len(packets), sent)
    assert packets[0].is_keyframe and packets[0].pts == 0
    with av.open(str(tmp_path / "rec" / kinds["audio"]["file"])) as audio:
        assert audio.streams.audio[0].codec_context.name == "opus"
        audio_packets = [p for p in audio.demux() if p.size]
    assert abs(len(audio_packets) - 500) <= 50  # 20 ms frames for 10 s
    assert recorder.size_bytes() > 0
    # Only the publisher's encoder ever ran: the server decoded and encoded nothing.
    assert counted.made == {"decoder": 0, "encoder": 1}


def vp8_frames(count: int, gop: int) -> list[EncodedFrame]:
    """`count` VP8 frames encoded by libvpx (a keyframe every `gop`), as one-payload frames."""
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 160, 120, "yuv420p"
    encoder.time_base = fractions.Fraction(1, 30)
    encoder.gop_size = gop
    frames = []
    for i in range(count):
        picture = av.VideoFrame(160, 120, "yuv420p")
        for plane in picture.planes:
            plane.update(bytes([(i * 9) & 0xFF]) * plane.buffer_size)
        picture.pts = i
        for packet in encoder.encode(picture):
            frames.append(bytes(packet))
    for packet in encoder.encode(None):
        frames.append(bytes(packet))
    return [
        EncodedFrame((b"\x10" + f,), i * 3000, vp8_size(f) is not None, 0.0)
        for i, f in enumerate(frames)
    ]


def test_a_full_writer_queue_drops_video_until_the_next_keyframe(tmp_path: Path) -> None:
    frames = vp8_frames(40, gop=10)
    assert [i for i, f in enumerate(frames) if f.keyframe] == [0, 10, 20, 30]
    track = TrackFile(tmp_path / "v.webm", "video", "VP8", "alice", "camera", 0.0)
    writer = FrameWriter("t", capacity=4, start=False)  # the thread is late: the queue fills
    asked: list[int] = []
    tap = writer.tap(track, lambda: asked.append(1))
    for frame in frames[:13]:
        tap(frame)  # 0-3 queued; 4 is refused, 5-9 wait for a keyframe; 10 too: still full
    assert writer.dropped == 9 and asked == [1]
    writer.start()
    deadline = time.monotonic() + 10
    while writer.backlog() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer.backlog() == 0
    for frame in frames[13:24]:
        tap(frame)  # room again, but 13-19 are no keyframe: dropped; 20-23 fit
    assert writer.dropped == 16
    writer.close(track, 1.0)  # waits behind the queued frames
    writer.stop()
    assert track.frames == 8 and track.stopped == 1.0
    with av.open(str(tmp_path / "v.webm")) as f:
        packets = [p for p in f.demux(f.streams.video[0]) if p.size]
        decoded = sum(len(p.decode()) for p in packets)
    assert [p.is_keyframe for p in packets] == [True, False, False, False] * 2
    assert decoded == 8  # decodable throughout: the gap starts at a keyframe
