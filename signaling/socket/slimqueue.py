"""The send queue of one engine.io connection, without the fixed cost of `asyncio.Queue`.

An `asyncio.Queue` allocates three `collections.deque`s and an `asyncio.Event` (a fourth
deque) when it is created, and a deque takes a 64-slot block at once: about 3 KiB per
queue, most of an idle connection's own memory above what aiohttp and engine.io keep.
An idle connection's queue holds nothing, and at most its writer waits on it. Here the
queue and its waiters are plain lists (empty: 56 bytes) and the "all done" event is a
flag that makes an `asyncio.Event` only when someone `join`s. A connection's queue holds
a few packets at most (`--send-queue` bounds it), so `list.pop(0)` costs no more than a
deque's `popleft`.

The behaviour is `asyncio.Queue`'s (Python 3.11 in the image; 3.12 and 3.13 alike): its
methods run unchanged on these containers, through the hooks it documents (`_init`,
`_get`, `_put`) and the attributes it uses (`_getters`, `_putters`, `_finished`);
`frames.write_through` reads `_queue` and `_getters` as it did.
tests/signaling/socket/test_slimqueue.py checks both.
"""

from __future__ import annotations

import asyncio
from typing import Any


class Line(list[Any]):
    """A list with the one deque method `asyncio.Queue` calls on its containers."""

    __slots__ = ()

    def popleft(self) -> Any:
        return self.pop(0)


class Flag:
    """`asyncio.Event`'s set / clear / is_set / wait, with the event made only for a
    waiter (`Queue.join`); set when created, as the queue's `_finished` starts."""

    __slots__ = ("_event", "_set")

    def __init__(self) -> None:
        self._set = True
        self._event: asyncio.Event | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        if self._event is not None:
            self._event.set()

    def clear(self) -> None:
        self._set = False
        if self._event is not None:
            self._event.clear()

    async def wait(self) -> bool:
        if self._set:
            return True
        if self._event is None:
            self._event = asyncio.Event()
        return await self._event.wait()


class SlimQueue(asyncio.Queue[Any]):
    """An unbounded-by-itself `asyncio.Queue` of small empty footprint (engine.io's
    `create_queue`, set by `signaling.socket.wire.Server`)."""

    def __init__(self, maxsize: int = 0) -> None:
        # asyncio.Queue's own set-up first (whatever its version adds), then its
        # containers swapped for the light ones; the deques it made are freed at once.
        super().__init__(maxsize)
        self._getters = Line()
        self._putters = Line()
        self._finished = Flag()

    def _init(self, maxsize: int) -> None:
        self._queue = Line()

    def _get(self) -> Any:
        return self._queue.pop(0)

    def _put(self, item: Any) -> None:
        self._queue.append(item)
