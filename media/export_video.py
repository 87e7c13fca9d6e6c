"""The MP4 export's pictures: recorded video tracks decoded in order, and the frames
composed from them (`media.export_plan.Layout`) at the output's size.

A track's picture at a moment is its last frame decoded at or before it (a frozen
picture through a gap). A packet that does not decode (a lost reference) is skipped.
Composition is done on PIL images; a frame whose inputs did not change is reused.
"""

from __future__ import annotations

from typing import Any

import av
from PIL import Image

from media.export_plan import Layout, PlanTrack, decoded

INSET = 0.25
"""The speaker's inset: this share of the frame's width, at its bottom right."""
MARGIN = 16


def fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """`size` scaled to fit in `box`, keeping its shape (even sides, at least 2)."""
    w, h = size
    scale = min(box[0] / w, box[1] / h)
    return max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2)


class VideoSource:
    """One WebM video track, decoded forward only: the picture showing at a moment."""

    def __init__(self, track: PlanTrack) -> None:
        self.track = track
        self._container: Any = av.open(track.file)
        self._frames = decoded(self._container, self._container.streams.video[0])
        self._pending: Any = None
        self._current: Any = None
        self._done = False
        self.serial = 0
        """Moves on with every new picture."""

    def at(self, t: float) -> Any:
        """The frame showing at `t` (seconds from the recording's start), or None."""
        while not self._done:
            if self._pending is None:
                self._pending = next(self._frames, None)
                if self._pending is None:
                    self._done = True
                    break
            if self.track.started + float(self._pending.time or 0) > t:
                break
            self._current, self._pending = self._pending, None
            self.serial += 1
        return self._current

    def close(self) -> None:
        self._container.close()


def _from_image(image: Image.Image) -> Any:
    make: Any = av.VideoFrame.from_image
    return make(image)


class Composer:
    """Output frames for layouts: main area + inset, or the camera alone."""

    def __init__(self, sources: dict[str, VideoSource], width: int, height: int) -> None:
        self.sources = sources
        """By track file."""
        self.size = (width, height)
        self._slides: dict[str, Image.Image] = {}
        self._last_key: tuple[object, ...] | None = None
        self._last: Any = None

    def _picture(self, track: PlanTrack | None, t: float) -> Any:
        return None if track is None else self.sources[track.file].at(t)

    def _serial(self, track: PlanTrack | None) -> tuple[str, int] | None:
        return None if track is None else (track.file, self.sources[track.file].serial)

    def _slide(self, path: str) -> Image.Image:
        if path not in self._slides:
            with Image.open(path) as img:
                rgb = img.convert("RGB")
            self._slides[path] = rgb.resize(fit(rgb.size, self.size))
        return self._slides[path]

    def frame(self, layout: Layout, t: float) -> Any:
        """The output `av.VideoFrame` (RGB) for `layout` at `t`."""
        main = self._picture(layout.main, t)
        camera = self._picture(layout.camera, t)
        slide = self._slide(layout.slide) if layout.slide and main is None else None
        key = (self._serial(layout.main), self._serial(layout.camera), layout.slide)
        if key == self._last_key:
            return self._last
        canvas = Image.new("RGB", self.size)
        big: Image.Image | None = slide
        if main is not None:
            big = self._scaled(main, self.size)
        if big is None and camera is not None:
            big, camera = self._scaled(camera, self.size), None
        if big is not None:
            canvas.paste(big, ((self.size[0] - big.width) // 2, (self.size[1] - big.height) // 2))
        if camera is not None:
            box = (int(self.size[0] * INSET), int(self.size[1] * INSET))
            small = self._scaled(camera, box)
            x = self.size[0] - small.width - MARGIN
            y = self.size[1] - small.height - MARGIN
            canvas.paste(small, (x, y))
        self._last_key, self._last = key, _from_image(canvas)
        return self._last

    @staticmethod
    def _scaled(frame: Any, box: tuple[int, int]) -> Image.Image:
        w, h = fit((frame.width, frame.height), box)
        image: Image.Image = frame.reformat(width=w, height=h, format="rgb24").to_image()
        return image
