"""The relay between media workers: a publisher's frames from its home worker to the others.

Each worker process binds one Unix datagram socket, ``<dir>/relay-<index>.sock``. The
home worker of an event (where its publishers' connections live) taps every feed on
stage and sends each encoded frame, as the publisher's RTP payloads, to every sibling
worker in one datagram. A sibling holds one relay :class:`~media.forward.Feed` per
track on stage; its subscribers' slots read it exactly as they read a local feed.
A sibling's keyframe request goes back to the home worker as a small datagram, and
the home asks the publisher through the feed's own (throttled) requester.

Datagrams are never dropped silently: a sibling whose queue is full gets the frames
later (the socket is connected, so the kernel wakes the sender when there is room),
up to ``OUTBOX_LIMIT`` bytes; past it frames are dropped, counted, and the sibling,
seeing a hole in the sequence numbers, holds that video until the next keyframe and
asks for one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import msgpack

from media.assembler import EncodedFrame
from media.forward import Feed
from media.keyframe import KeyframeRequester
from media.types import Kind, Source

log = logging.getLogger(__name__)

BUFFER = 4 << 20  # bytes; socket buffers (the kernel caps them at net.core.wmem_max)
OUTBOX_LIMIT = 8 << 20  # bytes waiting for one sibling before frames are dropped

FeedKey = tuple[str, str, str]
"""(event id, publisher id, source): a track on stage, the same in every worker."""
HomeFinder = Callable[[str, str, str], Feed | None]
"""The home's feed on stage for (event, publisher, source), or None."""


def relay_path(directory: Path, index: int) -> Path:
    return directory / f"relay-{index}.sock"


class _Link:
    """The connected socket to one sibling, with what waits for room in its queue."""

    def __init__(self, path: Path, stats: RelayStats) -> None:
        self.path = path
        self.stats = stats
        self.sock: socket.socket | None = None
        self.outbox: deque[bytes] = deque()
        self.waiting = 0

    def send(self, data: bytes) -> None:
        if self.outbox:
            self._queue(data)
            return
        sock = self._connected()
        if sock is None:
            return
        try:
            sock.send(data)
            self.stats.sent += 1
        except BlockingIOError:
            self._queue(data)
            asyncio.get_running_loop().add_writer(sock.fileno(), self._flush)
        except OSError:  # the sibling died: its successor binds the path again
            self._reset()
            self.stats.dropped += 1

    def _connected(self) -> socket.socket | None:
        if self.sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUFFER)
            try:
                sock.connect(str(self.path))
            except OSError:
                sock.close()
                self.stats.dropped += 1
                return None
            self.sock = sock
        return self.sock

    def _queue(self, data: bytes) -> None:
        if self.waiting + len(data) > OUTBOX_LIMIT:
            self.stats.dropped += 1
            return
        self.outbox.append(data)
        self.waiting += len(data)

    def _flush(self) -> None:
        sock = self.sock
        while self.outbox and sock is not None:
            try:
                sock.send(self.outbox[0])
            except BlockingIOError:
                return
            except OSError:
                self._reset()
                return
            self.waiting -= len(self.outbox.popleft())
            self.stats.sent += 1
        if sock is not None:
            asyncio.get_running_loop().remove_writer(sock.fileno())

    def _reset(self) -> None:
        if self.sock is not None:
            asyncio.get_running_loop().remove_writer(self.sock.fileno())
            self.sock.close()
            self.sock = None
        self.stats.dropped += len(self.outbox)
        self.outbox.clear()
        self.waiting = 0

    def close(self) -> None:
        self._reset()


class RelayStats:
    __slots__ = ("dropped", "holes", "received", "sent")

    def __init__(self) -> None:
        self.sent = 0
        self.received = 0
        self.dropped = 0
        self.holes = 0


class _RelayFeed:
    """A sibling's copy of one track on stage: the feed its slots read."""

    __slots__ = ("feed", "hold", "seq")

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.seq = -1
        self.hold = False


class Relay:
    """This worker's end of the relay: sends its stage's frames, receives its siblings'."""

    def __init__(self, index: int, count: int, directory: Path, home_feed: HomeFinder) -> None:
        self.index = index
        self.directory = directory
        self.stats = RelayStats()
        self._home_feed = home_feed
        self._links = {
            i: _Link(relay_path(directory, i), self.stats) for i in range(count) if i != index
        }
        self._taps: dict[Feed, tuple[Callable[[EncodedFrame], None], list[int]]] = {}
        """Home side: the tap on each feed on stage, and its sequence number."""
        self._copies: dict[FeedKey, _RelayFeed] = {}
        """Sibling side: the relay feed of each track on stage here."""
        self._sock: socket.socket | None = None
        self._buffer = bytearray(BUFFER)

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> None:
        path = relay_path(self.directory, self.index)
        if path.exists():
            os.unlink(path)  # a predecessor's, dead
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUFFER)
        sock.bind(str(path))
        self._sock = sock
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)

    def close(self) -> None:
        for link in self._links.values():
            link.close()
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
            path = relay_path(self.directory, self.index)
            with contextlib.suppress(OSError):
                os.unlink(path)
                os.rmdir(self.directory)  # the last worker out (also when the node was killed)

    # -- home side -------------------------------------------------------------------------
    def follow(self, event_id: str, feeds: Iterable[Feed], was: Iterable[Feed] = ()) -> None:
        """Relay the frames of ``feeds`` (an event's stage at home); stop those of ``was``
        that are no longer on it."""
        now = set(feeds)
        for feed in was:
            if feed not in now and feed in self._taps:
                feed.remove_tap(self._taps.pop(feed)[0])
        for feed in now:
            if feed not in self._taps:
                self._tap(event_id, feed)

    def _tap(self, event_id: str, feed: Feed) -> None:
        seq = [0]
        links = self._links.values()
        pack = msgpack.packb

        def tap(frame: EncodedFrame) -> None:
            seq[0] += 1
            data = pack(
                [
                    event_id,
                    feed.publisher_id,
                    feed.source,
                    seq[0],
                    frame.timestamp,
                    frame.keyframe,
                    frame.arrival,
                    frame.payloads,
                ]
            )
            for link in links:
                link.send(data)

        self._taps[feed] = (tap, seq)
        feed.add_tap(tap)

    def forget(self, feeds: Iterable[Feed]) -> None:
        for feed in feeds:
            entry = self._taps.pop(feed, None)
            if entry is not None:
                feed.remove_tap(entry[0])

    def tapped(self) -> int:
        """Feeds whose frames this worker relays."""
        return len(self._taps)

    def copies(self) -> int:
        """Relay feeds this worker holds."""
        return len(self._copies)

    # -- sibling side ----------------------------------------------------------------------
    def copy(self, home: int, event_id: str, publisher_id: str, source: Source, kind: Kind) -> Feed:
        """The relay feed of a track on stage at ``home`` (made on first use)."""
        key = (event_id, publisher_id, source)
        held = self._copies.get(key)
        if held is not None and held.feed.kind == kind and not held.feed.closed:
            return held.feed
        link = self._links.get(home)

        def ask() -> bool:
            if link is None:
                return False
            link.send(msgpack.packb([event_id, publisher_id, source]))
            return True

        feed = Feed(publisher_id, source, kind, KeyframeRequester(ask))
        self._copies[key] = _RelayFeed(feed)
        return feed

    def drop_copies(self, event_id: str, keep: Iterable[Feed] = ()) -> None:
        """Close this event's relay feeds but those in ``keep``."""
        kept = set(keep)
        for key, held in list(self._copies.items()):
            if key[0] == event_id and held.feed not in kept:
                del self._copies[key]
                held.feed.close()

    def _readable(self) -> None:
        sock = self._sock
        view = memoryview(self._buffer)
        while sock is not None:
            try:
                size = sock.recv_into(self._buffer)
            except BlockingIOError:
                return
            try:
                self._handle(msgpack.unpackb(view[:size]))
            except Exception:
                log.exception("media relay: a datagram could not be handled")

    def _handle(self, message: list[Any]) -> None:
        if len(message) == 3:  # a keyframe request from a sibling
            event_id, publisher_id, source = (str(x) for x in message)
            feed = self._home_feed(event_id, publisher_id, source)
            if feed is not None:
                feed.request_keyframe()
            return
        event_id, publisher_id, source, seq, timestamp, keyframe, arrival, payloads = message
        self.stats.received += 1
        held = self._copies.get((str(event_id), str(publisher_id), str(source)))
        if held is None:
            return
        feed = held.feed
        if held.seq >= 0 and seq != held.seq + 1 and feed.kind == "video":
            self.stats.holes += 1
            held.hold = True  # a frame was lost: its successors need a new keyframe
            feed.request_keyframe()
        held.seq = seq
        if held.hold:
            if not keyframe:
                return
            held.hold = False
        feed.deliver(EncodedFrame(tuple(payloads), int(timestamp), bool(keyframe), float(arrival)))
