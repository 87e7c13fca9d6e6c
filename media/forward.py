"""Forwarding: a published track's feed fanned out to every subscriber's slot.

A :class:`Feed` receives the frames of one published track (from its
assembler) and pushes each, synchronously, to the :class:`SlotSink` of every
subscriber watching it. A sink writes the frame's RTP payloads, untouched, to
its subscriber through a :class:`Writer` (``media.outbound.RtpWriter``): no
codec runs, no task wakes per frame and subscriber.

Each subscriber's queue is its socket's user-space send buffer, bounded: when
it holds more than ``backlog_limit`` bytes (the kernel refused packets, so the
subscriber's path is congested), a video slot drops frames until the next
keyframe, asking the publisher for one, and an audio slot drops frames. A slow
subscriber never delays the publisher or any other subscriber.
"""

from __future__ import annotations

import logging
import random
import time
from bisect import bisect_left
from collections.abc import Callable
from typing import Protocol

from media.assembler import EncodedFrame
from media.keyframe import KeyframeRequester
from media.level import Meter
from media.types import DELAY_BUCKETS, Kind, Source

logger = logging.getLogger(__name__)

CLOCK_RATE: dict[Kind, int] = {"video": 90000, "audio": 48000}


class Writer(Protocol):
    """Where a slot's frames go (``media.outbound.RtpWriter``)."""

    @property
    def ready(self) -> bool: ...

    def write(self, payloads: tuple[bytes, ...], timestamp: int) -> None: ...

    def backlog(self) -> int: ...


class Feed:
    """The frames of one published track, fanned out to the slots watching it."""

    def __init__(
        self, publisher_id: str, source: Source, kind: Kind, requester: KeyframeRequester
    ) -> None:
        self.publisher_id = publisher_id
        self.source = source
        self.kind = kind
        self.requester = requester
        self.frames = 0
        self.closed = False
        self.meter = Meter()
        """An audio track's levels as its packets carry them (`media.level`), filled by its
        assembler, taken by the active speaker's detector (`media.speaker`)."""
        self._sinks: list[SlotSink] = []
        self._taps: list[Callable[[EncodedFrame], None]] = []
        """Other consumers of every delivered frame (a recorder), after the subscribers."""

    @property
    def sinks(self) -> tuple[SlotSink, ...]:
        return tuple(self._sinks)

    def deliver(self, frame: EncodedFrame) -> None:
        """Called by the assembler for every complete frame."""
        self.frames += 1
        if frame.keyframe and self.kind == "video":
            self.requester.keyframe_arrived()
        waiting = False
        for sink in self._sinks:
            try:
                waiting |= sink.push(frame)
            except Exception:
                # Runs inside aiortc's receive loop for the publisher: one
                # subscriber's failure must not reach (and end) it.
                logger.exception("media: forwarding to one subscriber failed")
        if waiting and not frame.keyframe:
            self.requester.request(retry=True)
        for tap in self._taps:
            try:
                tap(frame)
            except Exception:
                logger.exception("media: a tap on a feed failed")

    def add_tap(self, tap: Callable[[EncodedFrame], None]) -> None:
        if tap not in self._taps:
            self._taps.append(tap)

    def remove_tap(self, tap: Callable[[EncodedFrame], None]) -> None:
        if tap in self._taps:
            self._taps.remove(tap)

    def request_keyframe(self) -> None:
        if self.kind == "video":
            self.requester.request()

    def attach(self, sink: SlotSink) -> None:
        if sink not in self._sinks:
            self._sinks.append(sink)

    def detach(self, sink: SlotSink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    def close(self) -> None:
        for sink in list(self._sinks):
            sink.switch(None)
        self._taps.clear()
        self.closed = True
        self.requester.close()


class SlotSink:
    """One subscriber's end of one slot.

    ``switch()`` points the slot at another feed (or none) without any
    renegotiation: RTP timestamps are rebased so the subscriber sees one
    continuous stream, and a video slot waits for the new feed's keyframe.
    """

    def __init__(self, kind: Kind, writer: Writer, backlog_limit: int) -> None:
        self.kind = kind
        self._writer = writer
        self._backlog_limit = backlog_limit
        self._clock_rate = CLOCK_RATE[kind]
        self._feed: Feed | None = None
        self._hold = False
        self._offset: int | None = None
        self._last_ts: int | None = None
        self._last_arrival = 0.0
        self.sent = 0
        self.dropped = 0
        """Frames not forwarded while connected: congestion, or waiting for a keyframe."""
        self.packets = 0
        self.octets = 0
        """RTP payload bytes forwarded."""
        self.delays = [0] * (len(DELAY_BUCKETS) + 1)
        """Forwarded frames per forwarding delay bucket (`media.types.DELAY_BUCKETS`)."""
        self.delay_sum = 0.0

    @property
    def feed(self) -> Feed | None:
        return self._feed

    def switch(self, feed: Feed | None) -> None:
        if feed is self._feed:
            return
        if self._feed is not None:
            self._feed.detach(self)
        self._feed = feed
        self._offset = None
        self._hold = self.kind == "video"
        if feed is not None:
            feed.attach(self)
            if self._writer.ready:
                feed.request_keyframe()

    def writer_ready(self) -> None:
        """The subscriber's connection is up: start from a fresh keyframe."""
        if self._feed is not None and self.kind == "video":
            self._hold = True
            self._feed.request_keyframe()

    def request_keyframe(self) -> None:
        """The subscriber sent PLI/FIR: pass it on to the publisher."""
        if self._feed is not None:
            self._feed.request_keyframe()

    def push(self, frame: EncodedFrame) -> bool:
        """Forward a frame; returns True while the slot waits for a keyframe."""
        writer = self._writer
        if not writer.ready:
            return False  # not connected yet: writer_ready() asks for a keyframe
        if self._hold and not frame.keyframe:
            self.dropped += 1
            return True
        if writer.backlog() > self._backlog_limit:
            self.dropped += 1
            if self.kind == "audio":
                return False
            # A dropped video frame breaks the chain of references.
            self._hold = True
            if self._feed is not None:
                self._feed.request_keyframe()
            return True
        self._hold = False
        if self._offset is None:
            self._offset = self._rebase(frame)
        timestamp = (frame.timestamp + self._offset) & 0xFFFFFFFF
        self._last_ts = timestamp
        self._last_arrival = frame.arrival
        writer.write(frame.payloads, timestamp)
        self.sent += 1
        self.packets += len(frame.payloads)
        self.octets += sum(map(len, frame.payloads))
        delay = time.monotonic() - frame.arrival
        self.delays[bisect_left(DELAY_BUCKETS, delay)] += 1
        self.delay_sum += delay
        return False

    def _rebase(self, frame: EncodedFrame) -> int:
        """Offset that continues this slot's timeline from its previous feed."""
        if self._last_ts is None:
            return (random.getrandbits(32) - frame.timestamp) & 0xFFFFFFFF
        ticks = max(1, int((frame.arrival - self._last_arrival) * self._clock_rate))
        return (self._last_ts + ticks - frame.timestamp) & 0xFFFFFFFF

    def close(self) -> None:
        self.switch(None)
