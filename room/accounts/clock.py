"""The time the billing rules read: cycles, proration, renewals and add-on ends.

Production reads the system clock; tests move a `ManualClock` forward by days to
cross cycle ends without waiting. The edge holds one clock per server
(`signaling.context.Tribune.clock`) and passes `clock.now()` into the domain, which
takes times as arguments and never reads a clock of its own.
"""

from __future__ import annotations

import time

DAY = 86_400.0


class Clock:
    def now(self) -> float:
        return time.time()


class ManualClock(Clock):
    """A clock that moves only when told (tests)."""

    def __init__(self, at: float) -> None:
        self.at = at

    def now(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds

    def set(self, at: float) -> None:
        self.at = at
