"""The SFUs this node runs: one per event it owns the media of (`media_plane` decides).

Every operation takes and returns plain values (strings, lists, dicts), so that the
same call can arrive from this node's sockets or, over the media bus, from another
node's. The SFU's refusals become the wire's codes here.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from media import (
    IceServer,
    InvalidDescription,
    NoFreeSlot,
    Sfu,
    Speaker,
    StageTrack,
    UnknownPeer,
)
from room import recordings, tasks
from room.accounts.account import get_account
from room.errors import Code, TribuneError, invalid
from room.events import load_event
from room.store import Store
from signaling.config import Config
from signaling.socket.media_pooled import (
    PooledSfu,
    is_recording,
    record_begin,
    record_end,
    record_manifest,
)
from signaling.socket.media_workers import WorkerPool

log = logging.getLogger(__name__)

TracksListener = Callable[[str, list[list[str]]], Awaitable[None]]
"""Called with (event id, tracks) after every change of an event's stage."""
RecordingListener = Callable[[str, dict[str, Any]], Awaitable[None]]
"""Called with (event id, news) when the owner itself stops a recording or warns about it:
`{"id", "state": "stopped", "reason": "quota", "manifest"}` or `{"id", "warning": "quota_90"}`."""
RestartListener = Callable[[str], Awaitable[None]]
"""Called with (event id) when a media worker serving the event died: its media starts
afresh (`media.restart` with the epoch `epoch_suffix` now gives)."""
SpeakerListener = Callable[[str, dict[str, Any]], Awaitable[None]]
"""Called with (event id, news) when an event's active speaker changes, and again every
few seconds while he is (`media.speaker`): `{"person", "source", "changed"}`, `person`
and `source` `""` for no one."""


def host_candidates(config: Config) -> list[str] | None:
    """ICE host candidates on the configured interface; every interface for a wildcard."""
    if config.media_host:
        return [config.media_host]
    try:
        ip = ipaddress.ip_address(config.host)
    except ValueError:
        return None
    return None if ip.is_unspecified else [str(ip)]


def tracks_list(tracks: tuple[StageTrack, ...]) -> list[list[str]]:
    """[[person, source, kind, mid], ...]: a stage as plain values."""
    return [[t.publisher_id, t.source, t.kind, t.mid] for t in tracks]


class LocalMedia:
    def __init__(
        self,
        store: Store,
        ice: list[IceServer],
        on_tracks: TracksListener,
        background: Callable[[Awaitable[None]], None],
        data_dir: str = "./data",
        on_recording: RecordingListener | None = None,
        watch_every: float = 2.0,
        on_speaker: SpeakerListener | None = None,
        workers: int = 1,
        ice_urls: tuple[str, ...] = (),
        hosts: list[str] | None = None,
        on_restart: RestartListener | None = None,
    ) -> None:
        self.on_speaker = on_speaker
        self.data_dir = Path(data_dir)
        self.on_recording = on_recording
        self.watch_every = watch_every
        self.recordings: dict[str, asyncio.Task[None]] = {}
        """Per event: the task watching its running recording's size (quota)."""
        self.recording_ids: dict[str, str] = {}
        """Per event: the id of the recording running on its SFU."""
        self.store = store
        self.ice = ice
        self.on_tracks = on_tracks
        self.background = background
        self.sfus: dict[str, Sfu | PooledSfu] = {}
        self.on_restart = on_restart
        self.generations: dict[str, int] = {}
        """Per event: how many times a worker serving it died (the epoch's suffix)."""
        self.pool = (
            WorkerPool(workers, list(ice_urls), hosts, self._news, self._lost)
            if workers >= 2
            else None
        )
        """With `--media-workers` N ≥ 2, the worker processes the SFUs run in."""

    async def start(self) -> None:
        if self.pool is not None:
            await self.pool.start()

    def epoch_suffix(self, event_id: str) -> str:
        generation = self.generations.get(event_id, 0)
        return f"/w{generation}" if generation else ""

    async def sfu(self, event_id: str) -> Sfu | PooledSfu:
        existing = self.sfus.get(event_id)
        if existing is not None:
            return existing
        event = await load_event(self.store, event_id)
        plan = (await get_account(self.store, event.account_id)).plan
        if event_id in self.sfus:  # checked again: the awaits above may have raced
            return self.sfus[event_id]
        if self.pool is not None:
            self.sfus[event_id] = PooledSfu(
                self.pool,
                event_id,
                plan.stage_cameras + plan.stage_screens,
                plan.stage_mics,
                lambda tracks: self.background(self.on_tracks(event_id, tracks_list(tracks))),
            )
        else:
            self.sfus[event_id] = Sfu(
                video_slots=plan.stage_cameras + plan.stage_screens,
                audio_slots=plan.stage_mics,
                ice_servers=self.ice,
                on_stage_change=lambda tracks: self.background(
                    self.on_tracks(event_id, tracks_list(tracks))
                ),
                on_speaker=lambda who, changed: self._speaker(event_id, who, changed),
            )
        return self.sfus[event_id]

    async def run(self, op: str, event_id: str, args: dict[str, Any]) -> Any:
        """One operation by name (what the media bus carries)."""
        if op == "publish":
            return await self.publish(event_id, args["identity"], args["sdp"], args["sources"])
        if op == "subscribe":
            return await self.subscribe(event_id, args["sid"], args["skip"])
        if op == "answer":
            return await self.answer(event_id, args["sid"], args["sdp"])
        if op == "stop_track":
            return await self.stop_track(event_id, args["identity"], args["source"])
        if op == "unpublish":
            return await self.unpublish(event_id, args["identity"])
        if op == "unsubscribe":
            return await self.unsubscribe(event_id, args["sid"])
        if op == "close":
            return await self.close_event(event_id)
        if op == "record_start":
            return await self.record_start(
                event_id,
                args["id"],
                args["used"],
                args["limit"],
                int(args.get("part", 1)),
                float(args.get("offset", 0.0)),
            )
        if op == "record_stop":
            return await self.record_stop(event_id, args["id"])
        raise invalid(f"unknown media operation {op!r}")

    async def publish(self, event_id: str, identity: str, sdp: str, sources: dict[str, str]) -> str:
        sfu = await self.sfu(event_id)
        try:
            return await sfu.publish(identity, sdp, sources)  # type: ignore[arg-type]
        except InvalidDescription as exc:
            raise invalid(f"offer refused: {exc}"[:300], "sdp") from None
        except NoFreeSlot as exc:
            raise TribuneError(Code.STAGE_FULL, str(exc)) from None

    async def subscribe(self, event_id: str, sid: str, skip: str) -> dict[str, Any]:
        sfu = await self.sfu(event_id)
        offer = await sfu.subscribe(sid, skip_publisher=skip)
        return {
            "sdp": offer.sdp,
            "slots": [[s.mid, s.kind] for s in offer.slots],
            "tracks": tracks_list(sfu.stage()),
        }

    async def answer(self, event_id: str, sid: str, sdp: str) -> None:
        sfu = self.sfus.get(event_id)
        if sfu is None:
            raise TribuneError(Code.NOT_FOUND, "subscribe first")
        try:
            await sfu.answer(sid, sdp)
        except UnknownPeer:
            raise TribuneError(Code.NOT_FOUND, "subscribe first") from None
        except InvalidDescription as exc:
            raise invalid(f"answer refused: {exc}"[:300], "sdp") from None

    async def stop_track(self, event_id: str, identity: str, source: str) -> None:
        """Take one of his tracks off; nothing for someone without media."""
        sfu = self.sfus.get(event_id)
        if sfu is not None:
            with contextlib.suppress(UnknownPeer):  # he never published here
                await sfu.stop_track(identity, source)  # type: ignore[arg-type]

    async def unpublish(self, event_id: str, identity: str) -> None:
        sfu = self.sfus.get(event_id)
        if sfu is not None:
            with contextlib.suppress(UnknownPeer):
                await sfu.unpublish(identity)

    async def unsubscribe(self, event_id: str, sid: str) -> None:
        sfu = self.sfus.get(event_id)
        if sfu is not None:
            with contextlib.suppress(UnknownPeer):
                await sfu.unsubscribe(sid)

    # -- recording -----------------------------------------------------------------------
    async def record_start(
        self, event_id: str, rec_id: str, used: int, limit: int, part: int = 1, offset: float = 0
    ) -> None:
        """Record the stage under `<data_dir>/recordings/<event>/<id>/` (part `part`, from
        `offset` s into the recording); past `limit` bytes (with the account's `used` ones)
        the recording stops on its own. The part's progress is noted in the record."""
        sfu = await self.sfu(event_id)
        if is_recording(sfu):
            raise TribuneError(Code.CONFLICT, "the event is already being recorded")
        directory = (self.data_dir / "recordings" / event_id / rec_id).resolve()
        await record_begin(sfu, directory, part, offset)
        self.recording_ids[event_id] = rec_id
        await recordings.part_begun(self.store, event_id, rec_id, part, await self.store.now())
        self.recordings[event_id] = asyncio.create_task(
            self._watch(event_id, sfu, rec_id, used, limit)
        )

    async def record_stop(self, event_id: str, rec_id: str) -> dict[str, Any] | None:
        """Stop the event's recording: its manifest (None if none ran here)."""
        task = self.recordings.pop(event_id, None)
        if task is not None:
            await tasks.stop(task)
        self.recording_ids.pop(event_id, None)
        sfu = self.sfus.get(event_id)
        return None if sfu is None else await record_end(sfu)

    async def _watch(
        self, event_id: str, sfu: Sfu | PooledSfu, rec_id: str, used: int, limit: int
    ) -> None:
        warned = False
        while is_recording(sfu):
            await asyncio.sleep(self.watch_every)
            try:
                manifest = await record_manifest(sfu)
            except TribuneError:  # its worker died: the restart takes it from here
                return
            if manifest is None:
                return
            try:  # what this part wrote stays known if this node dies
                await recordings.part_progress(
                    self.store, event_id, rec_id, manifest, await self.store.now()
                )
            except Exception:
                log.warning("media: noting recording %s failed", rec_id, exc_info=True)
            total = used + int(manifest["size_bytes"])
            if total >= limit:
                self.recordings.pop(event_id, None)
                self.recording_ids.pop(event_id, None)
                final = await record_end(sfu)
                news = {"id": rec_id, "state": "stopped", "reason": "quota", "manifest": final}
                await self._tell(event_id, news)
                return
            if not warned and total >= recordings.QUOTA_WARNING * limit:
                warned = True
                await self._tell(event_id, {"id": rec_id, "warning": "quota_90"})

    async def _tell(self, event_id: str, news: dict[str, Any]) -> None:
        if self.on_recording is not None:
            try:
                await self.on_recording(event_id, news)
            except Exception:
                log.exception("media: telling about recording %s failed", news.get("id"))

    def _speaker(self, event_id: str, who: Speaker | None, changed: bool) -> None:
        if self.on_speaker is not None:
            person, source = ("", "") if who is None else (who.publisher_id, who.source)
            news = {"person": person, "source": source, "changed": changed}
            self.background(self.on_speaker(event_id, news))

    async def close_event(self, event_id: str) -> None:
        task = self.recordings.pop(event_id, None)
        if task is not None:
            await tasks.stop(task)
        rec_id = self.recording_ids.pop(event_id, None)
        sfu = self.sfus.pop(event_id, None)
        if sfu is None:
            return
        try:
            manifest = await record_end(sfu)
        except TribuneError:  # its worker died with it
            manifest = None
        if rec_id is not None and manifest is not None:  # handed over: the part ends here
            try:
                await recordings.part_progress(
                    self.store, event_id, rec_id, manifest, await self.store.now()
                )
            except Exception:
                log.warning("media: noting the recording of %s failed", event_id, exc_info=True)
        await sfu.close()

    async def close(self) -> None:
        for event_id in list(self.sfus):
            await self.close_event(event_id)
        if self.pool is not None:
            await self.pool.close()

    # -- the worker processes ------------------------------------------------------------
    def _news(self, index: int, kind: str, args: dict[str, Any]) -> None:
        sfu = self.sfus.get(str(args.get("event")))
        if not isinstance(sfu, PooledSfu) or sfu.home is None or sfu.home.index != index:
            return  # a closed event's, or a former home's
        if kind == "stage":
            sfu.staged(args["tracks"])
        elif kind == "speaker" and self.on_speaker is not None:
            news = {k: args[k] for k in ("person", "source", "changed")}
            self.background(self.on_speaker(sfu.event_id, news))

    async def _lost(self, index: int) -> None:
        """Worker `index` died (it runs again): the events it served start their media
        afresh on the workers, and their pages are told to subscribe and publish again."""
        for event_id, sfu in list(self.sfus.items()):
            if not isinstance(sfu, PooledSfu) or index not in sfu.opened:
                continue
            log.warning("media: worker %d served event %s; its media restarts", index, event_id)
            sfu.opened.discard(index)  # nothing to close there
            await self.close_event(event_id)
            self.generations[event_id] = self.generations.get(event_id, 0) + 1
            if self.on_restart is not None:
                await self.on_restart(event_id)
