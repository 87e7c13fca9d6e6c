"""Recorded tracks made without a browser: WebM files as `media.recorder` writes them
(VP8 video, Opus audio, 90 kHz / 48 kHz timestamps), encoded here with PyAV; and a whole
stopped recording with its record, as the media owner leaves it."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import msgspec
import numpy as np

from room import keys, recordings
from room.timeline import SPEAKER, Entry
from tests.helpers import Server


def write_video(
    path: Path,
    seconds: float,
    size: tuple[int, int] = (320, 240),
    fps: int = 30,
    color: tuple[int, int, int] = (0, 200, 0),
) -> int:
    """A VP8 WebM of one colour with a moving white bar; returns its frame count."""
    w, h = size
    frames = int(seconds * fps)
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for i in range(frames):
            img = np.zeros((h, w, 3), dtype=np.uint8)
            img[:, :] = color
            x = (i * 4) % w
            img[:, x : x + 8, :] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return frames


def write_audio(path: Path, seconds: float, hz: float = 440.0) -> None:
    """An Opus WebM of a tone."""
    rate, block = 48_000, 960
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libopus", rate=rate)
        stream.layout = "stereo"
        for n in range(int(seconds * rate / block)):
            t = (np.arange(block) + n * block) / rate
            tone = (0.3 * np.sin(2 * math.pi * hz * t)).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(
                np.stack([tone, tone]), format="fltp", layout="stereo"
            )
            frame.sample_rate, frame.pts = rate, n * block
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


async def recorded(
    server: Server, event_id: str, seconds: float = 4.0, t0: float | None = None
) -> recordings.Recording:
    """A stopped recording of two cameras and a mic, with its files, as the media owner
    leaves it; bob is named active speaker halfway."""
    store = server.tribune.store
    if t0 is None:
        t0 = await store.now() - seconds
    rec = await recordings.begin(store, event_id, "someone", t0)
    folder = Path(server.tribune.config.data_dir) / "recordings" / event_id / rec.id
    folder.mkdir(parents=True)
    write_video(folder / "01-camera-video.webm", seconds, color=(0, 200, 0))
    write_video(folder / "02-camera-video.webm", seconds - 1, (640, 360), color=(0, 0, 220))
    write_audio(folder / "03-mic-audio.webm", seconds)
    tracks = [
        ("video", "VP8", "alice", "camera", "01-camera-video.webm", 0.0),
        ("video", "VP8", "bob", "camera", "02-camera-video.webm", 1.0),
        ("audio", "opus", "alice", "mic", "03-mic-audio.webm", 0.0),
    ]
    manifest = {
        "tracks": [
            {"kind": k, "codec": c, "person": p, "source": src, "file": f, "started": at}
            for k, c, p, src, f, at in tracks
        ]
    }
    size = sum(p.stat().st_size for p in folder.iterdir())
    entry = Entry(t0 + seconds / 2, SPEAKER, {"person": "bob"})
    await store.hset(keys.timeline(event_id), "speaker", msgspec.msgpack.encode(entry))
    done = await recordings.finish(store, event_id, rec.id, manifest, size, t0 + seconds)
    assert done is not None
    return done
