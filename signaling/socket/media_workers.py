"""This node's media worker processes (`--media-workers N`, N ≥ 2): started, called, restarted.

Each worker is `python -m media.worker` (its own process and event loop, `media` code
only), reached over a Unix stream socket pair: length-prefixed msgpack requests and
replies, and the worker's news (an event's stage, its active speaker) on the same
stream. A worker that dies is started again at once; the pool tells its owner which
worker it was, so that the events it served restart their media (`media.restart`).
Which worker serves whom is `signaling/socket/media_pooled.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from media import InvalidDescription, MediaError, NoFreeSlot, SfuClosed, UnknownPeer
from media.worker import ICE_ENV, frame_message, read_message
from room import tasks
from room.errors import Code, TribuneError

log = logging.getLogger(__name__)

NewsListener = Callable[[int, str, dict[str, Any]], None]
"""Told (worker index, kind, args) of each worker's news."""
LostListener = Callable[[int], Awaitable[None]]
"""Told (worker index) when a worker died (it is being started again)."""

_RAISED: dict[str, type[MediaError]] = {
    "invalid": InvalidDescription,
    "stage_full": NoFreeSlot,
    "not_found": UnknownPeer,
    "closed": SfuClosed,
}


class WorkerGone(TribuneError):
    def __init__(self, index: int) -> None:
        super().__init__(Code.UNAVAILABLE, f"media worker {index} stopped; try again")


class WorkerProcess:
    """One worker: its process and the channel to it."""

    def __init__(
        self, index: int, argv: list[str], news: NewsListener, env: dict[str, str]
    ) -> None:
        self.index = index
        self.argv = argv
        self.env = env
        self.news = news
        self.process: asyncio.subprocess.Process | None = None
        self.subscribers = 0
        """Subscribe connections placed here (the pool's measure of load)."""
        self.homes = 0
        """Events whose home this worker is."""
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    async def start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "media.worker",
                "--fd",
                str(theirs.fileno()),
                *self.argv,
                pass_fds=(theirs.fileno(),),
                env=self.env,
            )
        finally:
            theirs.close()
        reader, self._writer = await asyncio.open_unix_connection(sock=ours, limit=1 << 22)
        self.subscribers = self.homes = 0
        self._reading = asyncio.create_task(self._read(reader))
        await self.call("ready")  # its relay socket is bound: siblings may send to it

    async def call(self, op: str, **args: Any) -> Any:
        writer = self._writer
        if writer is None or writer.is_closing():
            raise WorkerGone(self.index)
        call_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        try:
            writer.write(frame_message([call_id, op, args]))
            return await future
        finally:
            self._pending.pop(call_id, None)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                call_id, first, rest = await read_message(reader)
                if call_id == 0:
                    self.news(self.index, str(first), rest)
                    continue
                future = self._pending.get(call_id)
                if future is None or future.done():
                    continue
                if first:
                    future.set_result(rest)
                else:
                    code, message = rest
                    error = _RAISED.get(code)
                    exc: Exception = (
                        error(message)
                        if error is not None
                        else TribuneError(Code.INTERNAL, f"media worker: {message}"[:300])
                    )
                    future.set_exception(exc)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(WorkerGone(self.index))
            if self._writer is not None:
                self._writer.close()

    async def stop(self, kill: bool = False) -> None:
        if self._writer is not None:
            self._writer.close()  # the worker sees the end of the stream and exits
        process = self.process
        if process is not None and process.returncode is None:
            if kill:
                process.kill()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._reading is not None:
            await tasks.stop(self._reading)


class WorkerPool:
    """N worker processes, each started again when it dies."""

    def __init__(
        self,
        count: int,
        ice: list[str],
        hosts: list[str] | None,
        news: NewsListener,
        lost: LostListener,
    ) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="tribune-media-")
        self.directory = Path(self._dir.name)
        argv = ["--count", str(count), "--dir", str(self.directory)]
        self.env = {**os.environ, ICE_ENV: "\n".join(ice)}
        """The ICE servers reach the workers in their environment, not their command line
        (a TURN secret in it would be anyone's to read in `ps`)."""
        argv += [a for host in hosts or [] for a in ("--host", host)]
        self.workers = [
            WorkerProcess(i, ["--index", str(i), *argv], news, self.env) for i in range(count)
        ]
        self.lost = lost
        self.restarts = 0
        self._watching: list[asyncio.Task[None]] = []
        self._closing = False

    async def start(self) -> None:
        await asyncio.gather(*(w.start() for w in self.workers))
        self._watching = [asyncio.create_task(self._watch(w)) for w in self.workers]

    async def close(self) -> None:
        self._closing = True
        for task in self._watching:
            await tasks.stop(task)
        await asyncio.gather(*(w.stop() for w in self.workers), return_exceptions=True)
        with contextlib.suppress(OSError):
            self._dir.cleanup()

    def pids(self) -> list[int]:
        return [w.pid for w in self.workers if w.pid is not None]

    def least_loaded(self, by_homes: bool = False) -> WorkerProcess:
        if by_homes:
            return min(self.workers, key=lambda w: (w.homes, w.subscribers, w.index))
        return min(self.workers, key=lambda w: (w.subscribers, w.index))

    async def _watch(self, worker: WorkerProcess) -> None:
        while not self._closing:
            process = worker.process
            if process is None:
                return
            code = await process.wait()
            if self._closing:
                return
            log.warning(
                "media worker %d (pid %s) stopped (%s); starting it again",
                worker.index,
                process.pid,
                code,
            )
            await worker.stop()
            self.restarts += 1
            try:
                await worker.start()
            except Exception:  # it died again at once: the loop waits for it and retries
                log.warning("media worker %d did not start; again in 1 s", worker.index)
                await asyncio.sleep(1)
            try:
                await self.lost(worker.index)
            except Exception:
                log.exception("media workers: telling about worker %d failed", worker.index)


def default_count() -> int:
    return os.cpu_count() or 1
