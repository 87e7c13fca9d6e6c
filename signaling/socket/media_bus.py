"""Request/reply between nodes over Redis pub/sub: a media call runs on the event's owner.

Each node listens on its own channel. A request names the operation and its
arguments (msgpack); the owner runs it and publishes the reply on the caller's
channel. A refusal travels as its code, message and field, and is raised again on
the caller's side, so a routed call fails exactly as a local one would. No reply
within `timeout` is `unavailable`: the owner died, and the caller's page retries
once the event has a new owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack
import redis.asyncio as aioredis

from room.errors import Code, TribuneError

log = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], Awaitable[Any]]
"""Runs one operation for another node: (op, args) -> a msgpack-able result."""


CHECK_EVERY = 0.25
"""Seconds between two checks, while waiting for a reply, that the owner is still alive."""


class OwnerGone(TribuneError):
    """The node a call was sent to is no longer the event's media owner."""

    def __init__(self, message: str) -> None:
        super().__init__(Code.UNAVAILABLE, message)


def channel(node_id: str) -> str:
    return f"tribune:media:{node_id}"


class MediaBus:
    def __init__(self, url: str, node_id: str, handle: Handler, timeout: float = 10.0) -> None:
        self.url = url
        self.node_id = node_id
        self.handle = handle
        self.timeout = timeout
        self._redis: aioredis.Redis | None = None
        self._waiting: dict[str, asyncio.Future[Any]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._redis = aioredis.from_url(self.url, socket_connect_timeout=5, socket_timeout=None)
        self._listener = asyncio.create_task(self._listen())
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._ready.wait(), 5)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        for task in list(self._running):
            task.cancel()
        for fut in self._waiting.values():
            fut.cancel()
        if self._redis is not None:
            await self._redis.aclose()

    async def call(
        self,
        node_id: str,
        op: str,
        args: dict[str, Any],
        still: Callable[[], Awaitable[bool]] | None = None,
    ) -> Any:
        """Run `op` on `node_id` and return its result, or raise its refusal. While waiting,
        `still()` is asked every `CHECK_EVERY` seconds whether `node_id` is still the one to
        ask: `OwnerGone` as soon as it is not (the owner died), instead of the timeout."""
        assert self._redis is not None, "start the bus first"
        rid = secrets.token_hex(8)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = fut
        request = {"t": "req", "id": rid, "from": self.node_id, "op": op, "args": args}
        try:
            try:
                await self._redis.publish(channel(node_id), msgpack.packb(request))
            except (aioredis.RedisError, OSError):
                raise TribuneError(Code.UNAVAILABLE, "the store cannot be reached") from None
            deadline = asyncio.get_running_loop().time() + self.timeout
            while True:
                done, _ = await asyncio.wait({fut}, timeout=CHECK_EVERY)
                if done:
                    return fut.result()
                if still is not None and not await still():
                    raise OwnerGone("the event's media owner is gone; try again")
                if asyncio.get_running_loop().time() >= deadline:
                    raise TribuneError(
                        Code.UNAVAILABLE, "the event's media server does not answer; try again"
                    )
        finally:
            self._waiting.pop(rid, None)

    async def _listen(self) -> None:
        assert self._redis is not None
        down = False
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(channel(self.node_id))
                if down:
                    log.warning("media bus: the store answers again")
                    down = False
                self._ready.set()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._received(message["data"])
            except asyncio.CancelledError:
                raise
            except (aioredis.RedisError, OSError):
                if not down:
                    log.warning("media bus: the store is unreachable; retrying")
                    down = True
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _received(self, data: bytes) -> None:
        try:
            msg = msgpack.unpackb(data)
            kind = msg["t"]
        except Exception:
            log.warning("media bus: a malformed message was dropped")
            return
        if kind == "rep":
            fut = self._waiting.get(msg.get("id", ""))
            if fut is not None and not fut.done():
                if msg.get("ok"):
                    fut.set_result(msg.get("result"))
                else:
                    err = msg.get("error") or {}
                    code = Code(err.get("code", Code.INTERNAL.value))
                    fut.set_exception(
                        TribuneError(code, err.get("message", "media error"), err.get("field"))
                    )
        elif kind == "req":
            task = asyncio.create_task(self._serve(msg))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _serve(self, msg: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"t": "rep", "id": msg.get("id")}
        try:
            reply["result"] = await self.handle(str(msg["op"]), dict(msg["args"]))
            reply["ok"] = True
        except TribuneError as exc:
            reply.update(ok=False, error=exc.to_wire())
        except Exception:
            log.exception("media bus: %s failed", msg.get("op"))
            reply.update(ok=False, error={"code": "internal", "message": "media error"})
        assert self._redis is not None
        try:
            await self._redis.publish(channel(str(msg["from"])), msgpack.packb(reply))
        except (aioredis.RedisError, OSError):
            log.warning("media bus: a reply was lost: the store is unreachable")
