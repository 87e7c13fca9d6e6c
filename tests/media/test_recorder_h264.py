"""H.264 recording: a real aiortc publisher encodes H.264, the SFU records it into Matroska
without decoding, and PyAV decodes the file back."""

from __future__ import annotations

import asyncio
import fractions
from pathlib import Path

import av
import pytest

from media import Sfu
from media.recorder_h264 import h264_access_unit, h264_size, nal_units, parameter_sets
from tests.media.conftest import Peers, wait_for


def x264_keyframe(width: int, height: int, profile: str) -> bytes:
    """The first access unit libx264 writes for this size (Annex-B, SPS and PPS in band)."""
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base = fractions.Fraction(1, 30)
    encoder.options = {"profile": profile, "tune": "zerolatency"}
    picture = av.VideoFrame(width, height, "yuv420p")
    picture.pts = 0
    packets = list(encoder.encode(picture)) + list(encoder.encode(None))
    return bytes(packets[0])


@pytest.mark.parametrize(
    ("width", "height", "profile"),
    [(320, 240, "baseline"), (640, 360, "high"), (1278, 718, "main"), (176, 144, "high444")],
)
def test_the_size_comes_from_the_sps(width: int, height: int, profile: str) -> None:
    unit = x264_keyframe(width, height, profile)
    assert h264_size(unit) == (width, height)
    sets = parameter_sets(unit)
    assert sets is not None
    assert [u[0] & 0x1F for u in nal_units(sets)] == [7, 8]
    assert h264_size(b"\x00\x00\x00\x01\x41\x9a\x00") is None  # no SPS in a P slice


def test_fu_a_and_stap_a_become_annex_b() -> None:
    sps, pps, idr = b"\x67\x42\x00\x1f\xaa", b"\x68\xce\x38\x80", b"\x65" + bytes(range(1, 40))
    stap = b"\x78" + len(sps).to_bytes(2, "big") + sps + len(pps).to_bytes(2, "big") + pps
    fu_start = bytes([0x7C, 0x80 | 5]) + idr[1:20]
    fu_end = bytes([0x7C, 0x40 | 5]) + idr[20:]
    unit = h264_access_unit((stap, fu_start, fu_end))
    assert nal_units(unit) == [sps, pps, idr]
    assert unit.startswith(b"\x00\x00\x00\x01\x67")


async def test_h264_recorded_into_matroska_and_decodable(peers: Peers, tmp_path: Path) -> None:
    sfu = Sfu(video_slots=2, audio_slots=2, video_codec="H264")
    try:
        pub = peers.publisher(sfu, "alice")
        await pub.publish()
        await pub.connected()
        await wait_for(lambda: sfu.stats().publishers == 1, 10, "published")
        sfu.start_recording(tmp_path / "rec")
        assert pub.camera is not None
        sent_before = pub.camera.sent
        await asyncio.sleep(5)
        sent = pub.camera.sent - sent_before
        manifest = sfu.stop_recording()
    finally:
        await sfu.close()
    assert manifest is not None
    video = next(t for t in manifest["tracks"] if t["kind"] == "video")
    assert video["codec"] == "H264" and video["file"].endswith(".mkv")
    with av.open(str(tmp_path / "rec" / video["file"])) as f:
        stream = f.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == (320, 240)
        packets = [p for p in f.demux(stream) if p.size]
        pictures = [frame for p in packets for frame in p.decode()]
    assert packets[0].is_keyframe
    assert abs(len(packets) - sent) <= 0.1 * sent, (len(packets), sent)
    assert len(pictures) >= len(packets) - 2  # every frame decodes (the decoder may hold some)
    assert (pictures[0].width, pictures[0].height) == (320, 240)
