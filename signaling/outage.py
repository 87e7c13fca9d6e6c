"""A store outage at the edge: which failures mean "the store is unreachable", the
`unavailable` refusal clients get for them, and one log line per outage state change
(never one per failed call, never a traceback)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis.exceptions

from room.errors import Code, TribuneError
from room.store import StoreUnavailable

OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    StoreUnavailable,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
)
"""Until every backend raises `StoreUnavailable` for these, the client library's own
connection errors count too: the one line to change later."""


def is_store_outage(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) says the store could not be reached."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OUTAGE_ERRORS):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def unavailable() -> TribuneError:
    return TribuneError(Code.UNAVAILABLE, "the service is unavailable for a moment; try again")


class OutageLog:
    """Logs that a part of this node meets a store outage once when it starts and once
    when it ends; the failed calls in between are silent."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self.logger = logger
        self.what = what
        self.down = False
        self.followers: list[Callable[[], None]] = []
        """Called when the store answers again (other parts' quiet logs start afresh)."""
        self.on_failure: list[Callable[[], None]] = []
        """Called for every call that failed to reach the store (the metrics count them)."""

    def failed(self, exc: BaseException) -> None:
        for count in self.on_failure:
            count()
        if not self.down:
            self.down = True
            self.logger.warning(
                "%s: the store is unreachable (%s: %s)", self.what, type(exc).__name__, exc
            )

    def answered(self) -> None:
        for follower in self.followers:
            follower()
        if self.down:
            self.down = False
            self.logger.info("%s: the store answers again", self.what)

    def report(self, exc: BaseException, message: str, *args: object) -> None:
        """A background failure: an outage is noted once; anything else is logged with its
        traceback, as a bug."""
        if is_store_outage(exc):
            self.failed(exc)
        else:
            self.logger.error(message, *args, exc_info=exc)
