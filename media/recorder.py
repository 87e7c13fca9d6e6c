"""Recording: every forwarded track written to disk as it passes, never decoded.

A :class:`Recorder` taps the feeds on stage (``Feed.add_tap``): it is another
consumer of the frames the assembler delivers, next to the subscribers' slots.
Each track gets its own file (``media.recorder_track.TrackFile``): VP8 and Opus
into WebM, H.264 into Matroska, the publisher's encoded frames muxed as packets.
A track that joins the stage later starts its own file, with its offset from the recording's
start; one that leaves closes its file. ``stop()`` closes every file and
returns the manifest (also written as ``manifest.json`` in the directory).

A recording continued on another node after its media owner died is written in
parts: part ``n`` > 1 prefixes its files (and manifest) with ``p<n>-`` in the same
directory, and its tracks' offsets count from the recording's start (``offset``).

The muxing runs off the receive path: the taps only enqueue the frames for the
recording's writer thread (``media.recorder_writer``), which writes them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from media.assembler import EncodedFrame
from media.forward import Feed
from media.recorder_track import TrackFile, extension, recordable
from media.recorder_writer import CAPACITY, FrameWriter

logger = logging.getLogger(__name__)


class Recorder:
    """One recording of an SFU's stage, written under ``directory``."""

    def __init__(
        self,
        directory: Path,
        codec: str,
        clock: Callable[[], float] = time.monotonic,
        capacity: int = CAPACITY,
        part: int = 1,
        offset: float = 0.0,
    ) -> None:
        self.directory = directory
        self.part = part
        self.prefix = "" if part == 1 else f"p{part}-"
        self.offset = offset
        """Seconds from the recording's start to this part's."""
        self.codec = codec
        """The SFU's video codec (``VP8`` or ``H264``)."""
        self._clock = clock
        self.started = clock()
        self.started_at = time.time()
        self.stopped_at: float | None = None
        self._taps: dict[int, tuple[Feed, Callable[[EncodedFrame], None], TrackFile]] = {}
        self._done: list[TrackFile] = []
        self._count = 0
        directory.mkdir(parents=True, exist_ok=True)
        self.writer = FrameWriter(f"{directory.name} {self.prefix}", capacity)

    @property
    def files(self) -> list[TrackFile]:
        return self._done + [t for _, _, t in self._taps.values()]

    def size_bytes(self) -> int:
        """What the recording takes on disk now."""
        return sum(f.size_bytes() for f in self.files)

    def follow(self, feeds: Iterable[Feed]) -> None:
        """Record exactly these feeds: tap the new ones, close the files of the gone ones."""
        if self.stopped_at is not None:
            return
        wanted = {id(f): f for f in feeds if not f.closed}
        for key in list(self._taps):
            if key not in wanted:
                self._end(key)
        for key, feed in wanted.items():
            if key in self._taps:
                continue
            codec = self.codec if feed.kind == "video" else "opus"
            if not recordable(codec):
                logger.warning("recording: %s tracks are not recorded", codec)
                continue
            self._count += 1
            name = f"{self.prefix}{self._count:02d}-{feed.source}-{feed.kind}.{extension(codec)}"
            track = TrackFile(
                self.directory / name,
                feed.kind,
                codec,
                feed.publisher_id,
                feed.source,
                self._at(),
            )
            tap = self.writer.tap(track, feed.request_keyframe)
            feed.add_tap(tap)
            self._taps[key] = (feed, tap, track)
            feed.request_keyframe()  # a video file starts on a keyframe

    def _at(self) -> float:
        return self.offset + self._clock() - self.started

    def _end(self, key: int) -> None:
        feed, tap, track = self._taps.pop(key)
        feed.remove_tap(tap)
        self.writer.close(track, self._at())
        self._done.append(track)

    def stop(self) -> dict[str, Any]:
        """Close every file; returns the manifest (and writes it as ``manifest.json``)."""
        if self.stopped_at is None:
            for key in list(self._taps):
                self._end(key)
            self.writer.stop()  # every queued frame written, every file closed
            self.stopped_at = time.time()
            (self.directory / f"{self.prefix}manifest.json").write_text(
                json.dumps(self.manifest(), indent=1)
            )
        return self.manifest()

    def manifest(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "started_at": self.started_at,
            "stopped_at": self.stopped_at,
            "size_bytes": self.size_bytes(),
            "tracks": [f.describe() for f in self.files if f.frames > 0],
        }
