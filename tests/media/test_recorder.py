"""Recording through the SFU with real aiortc peers: WebM files, written without any codec."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiortc.codecs.vpx as vpx
import av
import pytest

from media import Sfu
from media.recorder_track import vp8_frame, vp8_size
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
