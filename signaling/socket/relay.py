"""python-socketio's Redis manager (emits fan out to every node), with the outage
behaviour a live event needs.

The stock manager logs an error for every emit that meets a store outage, and after
an outage of 25 s it waits up to 31 s more before it listens again (its retry delay
doubles up to 60 s), so chat between nodes stays cut long after Redis is back. This one
retries every `RETRY` seconds and logs one line when the link drops and one when it is
back. It overrides two private methods of python-socketio's `AsyncRedisManager`, so
that package is pinned in pyproject.toml (as aiortc is); tests/signaling/socket/
test_faults.py checks that chat crosses nodes again soon after an outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import socketio

from signaling.socket.broadcast import deliver

log = logging.getLogger(__name__)

RETRY = 0.5
"""Seconds between attempts to reach Redis again."""


class RedisRelay(socketio.AsyncRedisManager):  # type: ignore[misc]
    connected: bool

    def __init__(self, url: str, channel: str) -> None:
        super().__init__(url, channel=channel)
        self.down = False
        self._closing: set[asyncio.Future[Any]] = set()

    async def close(self) -> None:
        """Stop listening and close the Redis connections (python-socketio leaves them to
        the garbage collector). Run at the app's shutdown."""
        thread = getattr(self, "thread", None)
        if thread is not None:
            thread.cancel()
            with contextlib.suppress(BaseException):
                await thread
        pubsub = getattr(self, "pubsub", None)
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
        redis = getattr(self, "redis", None)
        if redis is not None:
            with contextlib.suppress(Exception):
                await redis.aclose()
        if self._closing:
            await asyncio.wait(self._closing)
        self.connected = False

    def _failed(self, what: str, exc: BaseException) -> None:
        if not self.down:
            log.warning("fan-out between nodes is cut (%s: %s); retrying", what, exc)
            self.down = True

    def _answered(self) -> None:
        if self.down:
            log.warning("fan-out between nodes works again")
            self.down = False

    def _reconnect(self) -> None:
        old = getattr(self, "redis", None)
        self._redis_connect()
        if old is not None:  # the stock manager drops its old client unclosed
            self._closing.add(task := asyncio.ensure_future(old.aclose()))
            task.add_done_callback(self._closed)

    def _closed(self, task: asyncio.Future[Any]) -> None:
        self._closing.discard(task)
        if not task.cancelled():
            task.exception()

    async def _publish(self, data: Any) -> Any:
        for _ in range(2):
            try:
                if not self.connected:
                    self._reconnect()
                result = await self.redis.publish(self.channel, self.json.dumps(data))
            except Exception as exc:
                self.connected = False
                self._failed("publish", exc)
                continue
            self._answered()
            return result
        return None

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        """A broadcast (from this node or another) to this node's sockets: without a
        callback, through `broadcast.deliver` (no task per recipient)."""
        if message.get("callback") is not None or message.get("binary"):
            await super()._handle_emit(message)
            return
        data = message["data"]
        if isinstance(data, list):
            data = data[0] if len(data) == 1 else tuple(data)
        await deliver(
            self,
            message["event"],
            data,
            message.get("namespace") or "/",
            message.get("room"),
            message.get("skip_sid"),
        )

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        while True:
            try:
                self._reconnect()
                await self.pubsub.subscribe(self.channel)
                self._answered()
                async for message in self.pubsub.listen():
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._failed("listen", exc)
                with contextlib.suppress(Exception):
                    await self.pubsub.aclose()
                await asyncio.sleep(RETRY)
