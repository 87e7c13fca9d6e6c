"""The active speaker of an SFU, from the levels its publishers' packets carry.

Nothing is decoded: each published audio track's :class:`~media.level.Meter` sums the
RFC 6464 levels of its packets (``media/level.py``); every ``TICK`` seconds
:class:`SpeakerWatch` takes those sums and :class:`SpeakerDetector` decides.

The choices, and why:

- **Smoothing: the mean energy over the last ``WINDOW`` ticks (0.5 s).** Long enough to
  bridge the gaps between syllables (and a 20 ms beep every 0.5 s, Chromium's fake
  microphone), short enough to follow a conversation. The mean is of linear energies,
  not of decibels, and a track that sent no packet in the window counts as silent.
- **Speaking: at least ``THRESHOLD`` (-50 dBov).** Speech into a microphone sits around
  -20 to -40 dBov; room noise after the browser's noise suppression well below -50.
- **Hysteresis: a challenger takes over only after being louder than the current
  speaker (by ``MARGIN``, 3 dB, or while the current one is silent) on every tick for
  ``HOLD`` (1 s).** A cough or a laugh does not move the stage; two people talking at
  once do not make it flicker.
- **Silence keeps the last speaker.** A pause is not a change: the stage shows whoever
  spoke last until someone else speaks (as the room page does with its own fallback).
- **The first speaker in a silent room is taken at once**, with nothing to flicker from;
  **a speaker whose track leaves the stage is replaced** by the loudest one speaking, or
  by no one.
- **Rate: at most one change per ``MIN_GAP`` (1 s)**, whatever happens.

Then :class:`SpeakerWatch` tells its listener every change and, while someone is the
speaker, the same again every ``REFRESH`` seconds (not a change): a page that joins later
learns it, and a page trusts the server's speaker while one came in the last 3 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Generic, TypeVar

from media.forward import Feed
from media.level import dbov
from media.types import Speaker, SpeakerListener

logger = logging.getLogger(__name__)

TICK = 0.25
"""Seconds between two looks at the levels."""
WINDOW = 2
"""Ticks whose levels are averaged (0.5 s)."""
THRESHOLD = -50.0
"""dBov from which a track counts as speaking."""
MARGIN = 3.0
"""dB by which a challenger must be louder than a speaking current speaker."""
HOLD = 1.0
"""Seconds a challenger must stay louder before it takes over."""
MIN_GAP = 1.0
"""Least seconds between two changes."""
REFRESH = 2.0
"""Seconds between two reports of an unchanged speaker."""

K = TypeVar("K", bound=Hashable)


class SpeakerDetector(Generic[K]):
    """Who speaks, among tracks named by keys, from their (energy, count) per tick."""

    def __init__(
        self,
        *,
        window: int = WINDOW,
        threshold: float = THRESHOLD,
        margin: float = MARGIN,
        hold: float = HOLD,
        min_gap: float = MIN_GAP,
    ) -> None:
        self.window = window
        self.threshold = threshold
        self.margin = margin
        self.hold = hold
        self.min_gap = min_gap
        self.current: K | None = None
        """The active speaker, or None (no one spoke yet, or he left)."""
        self.levels: dict[K, float] = {}
        """Each track's smoothed level (dBov) after the last update."""
        self._history: dict[K, deque[tuple[int, int]]] = {}
        self._challenger: K | None = None
        self._since = 0.0
        self._changed_at = -float("inf")

    def update(self, now: float, samples: Mapping[K, tuple[int, int]]) -> bool:
        """One tick: each track's (energy, count) since the last; True if `current` changed.

        A key absent from `samples` has left the stage."""
        for key in [k for k in self._history if k not in samples]:
            del self._history[key]
        for key, sample in samples.items():
            history = self._history.get(key)
            if history is None:
                history = self._history[key] = deque(maxlen=self.window)
            history.append(sample)
        self.levels = {
            key: dbov(sum(e for e, _ in h), sum(c for _, c in h))
            for key, h in self._history.items()
        }
        speaking = {k: v for k, v in self.levels.items() if v >= self.threshold}
        loudest = max(speaking, key=speaking.__getitem__, default=None)
        if self.current is None or self.current not in self.levels:
            self._challenger = None
            if self.current is None and loudest is None:
                return False
            return self._switch(now, loudest)
        mine = self.levels[self.current]
        bar = mine + self.margin if mine >= self.threshold else self.threshold
        challenger = loudest if loudest != self.current else None
        if challenger is not None and self.levels[challenger] < bar:
            challenger = None
        if challenger != self._challenger:
            self._challenger = challenger
            self._since = now
        if challenger is None or now - self._since < self.hold:
            return False
        return self._switch(now, challenger)

    def _switch(self, now: float, to: K | None) -> bool:
        if now - self._changed_at < self.min_gap:
            return False
        self.current = to
        self._challenger = None
        self._changed_at = now
        return True


class SpeakerWatch:
    """An SFU's active speaker, looked at every `every` seconds while it runs."""

    def __init__(
        self,
        feeds: Callable[[], Iterable[Feed]],
        listener: SpeakerListener,
        *,
        every: float = TICK,
        refresh: float = REFRESH,
        detector: SpeakerDetector[Feed] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._feeds = feeds
        self._listener = listener
        self.every = every
        self.refresh = refresh
        self.detector: SpeakerDetector[Feed] = detector or SpeakerDetector()
        self._clock = clock
        self._told_at = -float("inf")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start looking (idempotent); needs a running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                self.tick()
            except Exception:
                logger.exception("media: the active speaker's tick failed")

    def tick(self) -> None:
        """Take every audio track's levels, decide, and tell the listener if it must know."""
        now = self._clock()
        samples: dict[Feed, tuple[int, int]] = {}
        for feed in self._feeds():
            if feed.kind == "audio":
                taken = feed.meter.take()
                # A track new on stage (or back on it) may hold levels from before: not now.
                samples[feed] = taken if feed in self.detector.levels else (0, 0)
        changed = self.detector.update(now, samples)
        current = self.detector.current
        if not changed and (current is None or now - self._told_at < self.refresh):
            return
        self._told_at = now
        speaker = None if current is None else Speaker(current.publisher_id, current.source)
        try:
            self._listener(speaker, changed)
        except Exception:
            logger.exception("media: on_speaker failed")
