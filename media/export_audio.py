"""The MP4 export's sound: every recorded audio track decoded, placed at its offset and
mixed (summed, clipped) into one stereo 48 kHz stream.

A track's frames are placed by their timestamps: a gap (lost packets, a muted mic)
becomes silence, never a shift of what follows.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import av
import numpy as np

from media.export_plan import PlanTrack, decoded

RATE = 48_000
BLOCK = 1024
"""Samples per output frame (AAC's frame size)."""


class AudioSource:
    """One WebM audio track, decoded forward only, as sample blocks at their place."""

    def __init__(self, track: PlanTrack) -> None:
        self._container: Any = av.open(track.file)
        self._offset = round(track.started * RATE)
        self._resampler = av.AudioResampler(format="fltp", layout="stereo", rate=RATE)
        self._chunks: deque[tuple[int, Any]] = deque()
        self._cursor: int | None = None
        self._frames = decoded(self._container, self._container.streams.audio[0])
        self._done = False

    def _pull(self) -> bool:
        frame = next(self._frames, None)
        if frame is None:
            self._done = True
            return False
        at = self._offset + round(float(frame.time or 0) * RATE)
        if self._cursor is None or at > self._cursor + BLOCK:
            self._cursor = at  # a gap: what follows stays at its time
        for out in self._resampler.resample(frame):
            samples = out.to_ndarray().astype(np.float32).reshape(2, -1)
            self._chunks.append((self._cursor, samples))
            self._cursor += samples.shape[1]
        return True

    def add_to(self, mix: Any, start: int) -> None:
        """Add this track's samples in [start, start + len(mix)) into `mix` (2 by n)."""
        end = start + mix.shape[1]
        while not self._done and (self._cursor is None or self._cursor < end):
            self._pull()
        while self._chunks and self._chunks[0][0] + self._chunks[0][1].shape[1] <= start:
            self._chunks.popleft()
        for at, samples in self._chunks:
            if at >= end:
                break
            lo, hi = max(at, start), min(at + samples.shape[1], end)
            if lo < hi:
                mix[:, lo - start : hi - start] += samples[:, lo - at : hi - at]

    def close(self) -> None:
        self._container.close()


class Mixer:
    """The mixed stream, block by block."""

    def __init__(self, sources: list[AudioSource]) -> None:
        self.sources = sources
        self.position = 0
        """Samples produced so far."""

    def block(self) -> Any:
        """The next `BLOCK` samples as an `av.AudioFrame` (fltp, stereo)."""
        mix = np.zeros((2, BLOCK), dtype=np.float32)
        for source in self.sources:
            source.add_to(mix, self.position)
        np.clip(mix, -1.0, 1.0, out=mix)
        frame = av.AudioFrame.from_ndarray(mix, format="fltp", layout="stereo")
        frame.sample_rate = RATE
        frame.pts = self.position
        self.position += BLOCK
        return frame
