"""The recording's writer thread: the feeds' taps only enqueue, one thread muxes.

A feed delivers its frames inside aiortc's receive loop, on the event loop: the
recorder's tap there costs one ``put_nowait`` on a bounded queue. One thread per
recording takes the frames off the queue and writes them into their track's file
(``TrackFile.write``), and closes the files when told to, in order.

When the queue is full (the disk is slower than the stage), the frame is dropped,
and a video track then drops every frame until its next keyframe (a decodable
file again), asking its publisher for one; the first drop of a recording is
logged once. Closing a file or stopping the writer is never dropped: those wait
for room, and ``stop()`` returns once every queued frame is written.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from media.assembler import EncodedFrame
from media.recorder_track import TrackFile

logger = logging.getLogger(__name__)

CAPACITY = 512
"""Frames a recording may hold in memory for its writer (a few seconds of a full stage)."""

_Item = tuple[TrackFile, EncodedFrame | float] | None
"""A frame to write, a close (the track's stop offset), or None: the writer ends."""


class FrameWriter:
    """The thread that writes one recording's frames, and the taps that feed it."""

    def __init__(self, name: str, capacity: int = CAPACITY, start: bool = True) -> None:
        self._queue: queue.Queue[_Item] = queue.Queue(capacity)
        self._thread = threading.Thread(target=self._run, name=f"recorder {name}", daemon=True)
        self._dropping: set[int] = set()
        """The video tracks (ids) dropping frames until their next keyframe."""
        self.dropped = 0
        """Frames dropped because the writer fell behind."""
        self._stopped = False
        if start:
            self.start()

    def start(self) -> None:
        if self._thread.ident is None:
            self._thread.start()

    def tap(
        self, track: TrackFile, on_drop: Callable[[], None] | None = None
    ) -> Callable[[EncodedFrame], None]:
        """The feed's tap for this track: enqueue, or drop (``on_drop`` asks for a keyframe)."""
        key = id(track)
        video = track.kind == "video"

        def put(frame: EncodedFrame) -> None:
            if video and key in self._dropping and not frame.keyframe:
                self.dropped += 1
                return
            try:
                self._queue.put_nowait((track, frame))
            except queue.Full:
                self._drop(key, video, on_drop)
                return
            self._dropping.discard(key)

        return put

    def _drop(self, key: int, video: bool, on_drop: Callable[[], None] | None) -> None:
        if self.dropped == 0:
            logger.warning("recording: the writer falls behind; frames are dropped")
        self.dropped += 1
        if video and key not in self._dropping:
            self._dropping.add(key)
            if on_drop is not None:
                on_drop()

    def backlog(self) -> int:
        """Items waiting for the thread."""
        return self._queue.qsize()

    def close(self, track: TrackFile, at: float) -> None:
        """Close the track's file once its queued frames are written."""
        if self._stopped:
            track.close(at)
        else:
            self._queue.put((track, at))

    def stop(self) -> None:
        """Write what is queued, close what was asked to close, end the thread."""
        if self._stopped:
            return
        if self._thread.ident is None:
            self._thread.start()
        self._stopped = True
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            track, what = item
            try:
                if isinstance(what, EncodedFrame):
                    track.write(what)
                else:
                    track.close(what)
            except Exception:
                logger.exception("recording: writing %s failed", track.path)
