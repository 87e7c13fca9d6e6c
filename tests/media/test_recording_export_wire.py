"""A real recording (a real aiortc publisher through the real server, files written by
`media.recorder`) exported to MP4 by the worker process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import numpy as np
from aiortc import AudioStreamTrack

from room import recordings
from tests.helpers import http
from tests.media.test_stage_wire import WirePublisher


class SineTrack(AudioStreamTrack):
    """A 440 Hz tone (aiortc's own audio track is silence)."""

    def __init__(self) -> None:
        super().__init__()
        self.at = 0

    async def recv(self) -> av.AudioFrame:
        silent = await super().recv()
        n, rate = silent.samples, silent.sample_rate
        t = (np.arange(n) + self.at) / rate
        self.at += n
        tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(tone, format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, silent.pts, silent.time_base
        return frame


async def test_a_real_recording_exports_to_an_mp4_of_its_length(mem_server) -> None:
    s = await mem_server.setup()
    pres = WirePublisher(await s.join("presenter"))
    assert pres.t_mic is not None
    pres.t_mic.sender.replaceTrack(SineTrack())
    try:
        assert (await pres.publish())["ok"]
        await asyncio.sleep(1)  # connected and sending
        ack = await pres.client.call("recording.start")
        assert ack["ok"], ack
        await asyncio.sleep(4)
        assert (await pres.client.call("recording.stop"))["ok"]
    finally:
        await pres.close()
    store = mem_server.tribune.store
    [rec] = await recordings.list_for(store, s.event.id)
    assert {t.kind for t in rec.tracks} == {"video", "audio"}
    url = f"{mem_server.url}/api/v1/events/{s.event.id}/recordings/{rec.id}"
    status, body = await http("POST", url + "/export", s.api_key)
    assert status == 202, body
    for _ in range(1200):
        status, body = await http("GET", url.rsplit("/", 1)[0], s.api_key)
        export = body["recordings"][0]["export"]
        if export["state"] in ("done", "failed"):
            break
        await asyncio.sleep(0.1)
    assert export["state"] == "done", export
    folder = Path(mem_server.tribune.config.data_dir) / "recordings" / s.event.id / rec.id
    with av.open(str(folder / "export.mp4")) as f:
        [video], [audio] = f.streams.video, f.streams.audio
        assert (video.codec_context.width, video.codec_context.height) == (1280, 720)
        assert abs(f.duration / 1e6 - rec.duration_s) < 0.3
        pictures = [fr.to_ndarray(format="rgb24") for fr in f.decode(video=0)]
    with av.open(str(folder / "export.mp4")) as f:
        assert audio.codec_context.name == "aac"
        loudest = max(float(abs(fr.to_ndarray()).max()) for fr in f.decode(audio=0))
    assert loudest > 0.05  # the publisher's tone, mixed in
    # The publisher's camera fills the frame: the picture changes (not a black screen).
    assert max(p.max() for p in pictures[len(pictures) // 2 :]) > 50
    assert export["size_bytes"] == (folder / "export.mp4").stat().st_size
