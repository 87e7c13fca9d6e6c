"""One event's media spread over this node's worker processes (`media_workers.py`).

The same calls as `media.Sfu` (and the same errors), so that `media_local.LocalMedia`
runs an event alike in this process or on the workers. The event's **home** worker,
the least loaded when the event first needs one, holds every publisher's connection
and the stage (which slot carries whom); it relays each frame to the other workers
(`media/relay.py`). Each subscribe connection goes to the worker with the fewest; a
worker other than the home first gets a copy of the home's stage, and every stage
change after (`mirror`). Recording runs on the home, where the publishers' feeds are.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from media import Sfu, SfuStats, Slot, Source, StageTrack, SubscribeOffer, UnknownPeer
from signaling.socket.media_workers import WorkerPool, WorkerProcess

log = logging.getLogger(__name__)


def stage_tracks(plain: list[list[str]]) -> tuple[StageTrack, ...]:
    return tuple(
        StageTrack(publisher_id=p, source=s, kind=k, mid=m)  # type: ignore[arg-type]
        for p, s, k, m in plain
    )


class PooledSfu:
    def __init__(
        self,
        pool: WorkerPool,
        event_id: str,
        video_slots: int,
        audio_slots: int,
        on_stage_change: Callable[[tuple[StageTrack, ...]], None],
    ) -> None:
        self.pool = pool
        self.event_id = event_id
        self.video_slots = video_slots
        self.audio_slots = audio_slots
        self.on_stage_change = on_stage_change
        self.home: WorkerProcess | None = None
        self.opened: set[int] = set()
        """Workers serving this event (an `open` answered)."""
        self.where: dict[str, WorkerProcess] = {}
        """Each subscriber's worker."""
        self.tracks: list[list[str]] = []
        self.recording = False
        self._open_lock = asyncio.Lock()
        self._mirroring: asyncio.Task[None] | None = None
        self._dirty = False
        self.closed = False

    # -- where ---------------------------------------------------------------------------
    async def _home(self) -> WorkerProcess:
        async with self._open_lock:
            if self.home is None:
                home = self.pool.least_loaded(by_homes=True)
                await self._open(home, home)
                home.homes += 1
                self.home = home
            return self.home

    async def _serving(self, worker: WorkerProcess) -> WorkerProcess:
        home = await self._home()
        if worker.index not in self.opened:
            async with self._open_lock:
                if worker.index not in self.opened:
                    await self._open(worker, home)
                    self._kick()  # a stage change may have raced the copy it was given
        return worker

    async def _open(self, worker: WorkerProcess, home: WorkerProcess) -> None:
        await worker.call(
            "open",
            event=self.event_id,
            video=self.video_slots,
            audio=self.audio_slots,
            home=home.index,
            tracks=self.tracks,
        )
        self.opened.add(worker.index)

    # -- the Sfu's calls -----------------------------------------------------------------
    async def publish(
        self, publisher_id: str, offer_sdp: str, sources: Mapping[str, Source]
    ) -> str:
        home = await self._home()
        answer = await home.call(
            "publish", event=self.event_id, id=publisher_id, sdp=offer_sdp, sources=dict(sources)
        )
        return str(answer)

    async def stop_track(self, publisher_id: str, source: Source) -> bool:
        if self.home is None:
            raise UnknownPeer(publisher_id)
        return bool(
            await self.home.call("stop_track", event=self.event_id, id=publisher_id, source=source)
        )

    async def unpublish(self, publisher_id: str) -> None:
        if self.home is None:
            raise UnknownPeer(publisher_id)
        await self.home.call("unpublish", event=self.event_id, id=publisher_id)

    def stage(self) -> tuple[StageTrack, ...]:
        return stage_tracks(self.tracks)

    async def subscribe(
        self, subscriber_id: str, *, skip_publisher: str | None = None
    ) -> SubscribeOffer:
        if subscriber_id in self.where:
            await self.unsubscribe(subscriber_id)
        worker = self.pool.least_loaded()
        worker.subscribers += 1  # counted at once, so that concurrent ones spread
        try:
            await self._serving(worker)
            sdp, slots = await worker.call(
                "subscribe", event=self.event_id, id=subscriber_id, skip=skip_publisher
            )
        except BaseException:
            worker.subscribers -= 1
            raise
        self.where[subscriber_id] = worker
        return SubscribeOffer(sdp=sdp, slots=tuple(Slot(mid=m, kind=k) for m, k in slots))

    async def answer(self, subscriber_id: str, answer_sdp: str) -> None:
        worker = self.where.get(subscriber_id)
        if worker is None:
            raise UnknownPeer(subscriber_id)
        await worker.call("answer", event=self.event_id, id=subscriber_id, sdp=answer_sdp)

    async def unsubscribe(self, subscriber_id: str) -> None:
        worker = self.where.pop(subscriber_id, None)
        if worker is None:
            raise UnknownPeer(subscriber_id)
        worker.subscribers -= 1
        await worker.call("unsubscribe", event=self.event_id, id=subscriber_id)

    async def close(self) -> None:
        self.closed = True
        if self._mirroring is not None:
            self._mirroring.cancel()
        for worker in self.pool.workers:
            if worker.index in self.opened:
                try:
                    await worker.call("close_event", event=self.event_id)
                except Exception:
                    log.info("media workers: closing %s on %d failed", self.event_id, worker.index)
        self.forget()

    def forget(self) -> None:
        """Let go of every worker (closed, or one of them died)."""
        self.closed = True
        for worker in self.where.values():  # a restarted worker counts from 0 again
            worker.subscribers = max(0, worker.subscribers - 1)
        self.where.clear()
        if self.home is not None:
            self.home.homes = max(0, self.home.homes - 1)
            self.home = None
        self.opened.clear()

    def stats(self) -> SfuStats:
        """What the node knows without asking the workers (`/metrics`)."""
        return SfuStats(subscribers=len(self.where), peers=len(self.where))

    # -- recording (on the home) ---------------------------------------------------------
    async def record_begin(self, directory: Path, part: int, offset: float) -> None:
        home = await self._home()
        await home.call(
            "record_start", event=self.event_id, dir=str(directory), part=part, offset=offset
        )
        self.recording = True

    async def record_manifest(self) -> dict[str, Any] | None:
        if self.home is None or not self.recording:
            return None
        manifest = await self.home.call("record_manifest", event=self.event_id)
        return None if manifest is None else dict(manifest)

    async def record_end(self) -> dict[str, Any] | None:
        self.recording = False
        if self.home is None:
            return None
        manifest = await self.home.call("record_stop", event=self.event_id)
        return None if manifest is None else dict(manifest)

    # -- news from the home --------------------------------------------------------------
    def staged(self, tracks: list[list[str]]) -> None:
        """The home's stage changed: copy it to the other workers, tell the listener."""
        self.tracks = tracks
        self._kick()
        self.on_stage_change(self.stage())

    def _kick(self) -> None:
        self._dirty = True
        if self._mirroring is None or self._mirroring.done():
            self._mirroring = asyncio.get_running_loop().create_task(self._mirror())

    async def _mirror(self) -> None:
        """Send the latest stage to every sibling, in order, until none is newer."""
        while self._dirty and not self.closed:
            self._dirty = False
            home = self.home
            if home is None:
                return
            tracks = self.tracks
            for worker in self.pool.workers:
                if worker is home or worker.index not in self.opened:
                    continue
                try:
                    await worker.call("mirror", event=self.event_id, home=home.index, tracks=tracks)
                except Exception:
                    log.info("media workers: stage copy to %d failed", worker.index, exc_info=True)


# -- recording, alike in this process and on the workers ---------------------------------
def is_recording(sfu: Sfu | PooledSfu) -> bool:
    return sfu.recording if isinstance(sfu, PooledSfu) else sfu.recorder is not None


async def record_begin(sfu: Sfu | PooledSfu, directory: Path, part: int, offset: float) -> None:
    if isinstance(sfu, PooledSfu):
        await sfu.record_begin(directory, part, offset)
    else:
        sfu.start_recording(directory, part, offset)


async def record_manifest(sfu: Sfu | PooledSfu) -> dict[str, Any] | None:
    if isinstance(sfu, PooledSfu):
        return await sfu.record_manifest()
    recorder = sfu.recorder
    return None if recorder is None else recorder.manifest()


async def record_end(sfu: Sfu | PooledSfu) -> dict[str, Any] | None:
    if isinstance(sfu, PooledSfu):
        return await sfu.record_end()
    return sfu.stop_recording()
