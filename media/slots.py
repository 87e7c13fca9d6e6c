"""Subscriber slots: which published feed each pre-negotiated m-line carries (the stage).

Every subscribe connection is negotiated once with ``video`` video slots
followed by ``audio`` audio slots; slot ``i`` is m-line ``mid == str(i)`` in
all of them. Placing a feed on stage takes the lowest free slot of its kind,
the same for every subscriber, so a stage change is one broadcast.
"""

from __future__ import annotations

from media.errors import NoFreeSlot
from media.forward import Feed
from media.types import Kind, Slot, StageTrack


class Stage:
    def __init__(self, video: int, audio: int) -> None:
        if video < 0 or audio < 0 or video + audio == 0:
            raise ValueError("a stage needs at least one slot")
        self._video = video
        self._slots: list[Feed | None] = [None] * (video + audio)
        self.layout: tuple[Slot, ...] = tuple(
            Slot(mid=str(i), kind="video" if i < video else "audio") for i in range(video + audio)
        )

    def _range(self, kind: Kind) -> range:
        if kind == "video":
            return range(0, self._video)
        return range(self._video, len(self._slots))

    def free(self, kind: Kind) -> int:
        return sum(1 for i in self._range(kind) if self._slots[i] is None)

    def place(self, feed: Feed) -> int:
        """Put ``feed`` in the lowest free slot of its kind; returns the slot."""
        current = self.slot_of(feed)
        if current is not None:
            return current
        for i in self._range(feed.kind):
            if self._slots[i] is None:
                self._slots[i] = feed
                return i
        raise NoFreeSlot(f"all {feed.kind} slots are taken")

    def remove(self, feed: Feed) -> int | None:
        slot = self.slot_of(feed)
        if slot is not None:
            self._slots[slot] = None
        return slot

    def assign(self, placed: dict[int, Feed]) -> None:
        """Hold exactly ``placed`` (slot → feed): a relayed copy of another worker's stage."""
        for i in range(len(self._slots)):
            self._slots[i] = placed.get(i)

    def slot_of(self, feed: Feed) -> int | None:
        for i, held in enumerate(self._slots):
            if held is feed:
                return i
        return None

    def feeds(self) -> list[tuple[int, Feed]]:
        return [(i, f) for i, f in enumerate(self._slots) if f is not None]

    def tracks(self) -> tuple[StageTrack, ...]:
        return tuple(
            StageTrack(
                publisher_id=feed.publisher_id,
                source=feed.source,
                kind=feed.kind,
                mid=str(i),
            )
            for i, feed in self.feeds()
        )
