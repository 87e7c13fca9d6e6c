"""Recorded tracks made without a browser: WebM files as `media.recorder` writes them
(VP8 video, Opus audio, 90 kHz / 48 kHz timestamps), encoded here with PyAV."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


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
