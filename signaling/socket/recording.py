"""Recording over Socket.IO: `recording.start` / `recording.stop` on /room and /manage.

The permission table decides who may send them (`Action.RECORD`); the account's
recording space decides whether one may start (`room.recordings.space_for`). The files
are written on the event's media owner (`record_start` / `record_stop`, routed by the
media plane); the records live in the store. Everyone gets `recording.status`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from room import lifecycle, live, recordings
from room.errors import Code, TribuneError
from room.events import load_event
from room.permissions import Action
from room.recordings import Recording
from signaling.schemas.recording import (
    RecordingAck,
    RecordingRef,
    RecordingStart,
    RecordingStatus,
    RecordingStop,
)
from signaling.socket.dispatch import Ctx
from signaling.socket.fanout import MANAGE, ROOM, staff_room, wire
from signaling.socket.hub import Hub
from signaling.socket.media_plane import MediaPlane

log = logging.getLogger(__name__)

AUTO = "auto"
"""Who started a recording that started by itself (`auto_record`)."""


class Recorder:
    """The steps of starting and stopping an event's recording, store and owner alike."""

    def __init__(self, hub: Hub, plane: MediaPlane) -> None:
        self.hub = hub
        self.plane = plane
        self.store = hub.store

    async def start(self, event_id: str, by: str) -> Recording:
        current = await recordings.running(self.store, event_id)
        if current is not None:
            return current
        event = await load_event(self.store, event_id)
        now = await self.store.now()
        space = await recordings.space_for(self.store, event, now)
        rec = await recordings.begin(self.store, event_id, by, now)
        try:
            await self.plane.call(
                event_id, "record_start", id=rec.id, used=space.used, limit=space.allowed
            )
        except TribuneError:
            await recordings.finish(self.store, event_id, rec.id, None, 0, now, "failed")
            raise
        await self.status(event_id, RecordingStatus(rec.state.value, rec.id))
        return rec

    async def auto(self, event_id: str) -> None:
        """The event went live: it records itself if its `auto_record` setting says so;
        with the recording space used up it does not (a log line, a staff warning)."""
        if not recordings.records_itself(await load_event(self.store, event_id)):
            return
        try:
            await self.start(event_id, AUTO)
        except TribuneError as exc:
            if exc.code is not Code.LIMIT_REACHED:
                log.warning("recording: %s did not record itself: %s", event_id, exc.message)
                return
            log.info("recording: %s did not record itself: the space is used up", event_id)
            await self.warn(event_id, RecordingStatus("stopped", "", warning="limit_reached"))

    async def resume(self, event_id: str) -> None:
        """This node became the event's media owner: a recording that was running on the
        former one (it has parts) goes on here as its next part, within the space left."""
        rec = await recordings.running(self.store, event_id)
        if rec is None or not rec.parts:
            return  # none, or one being started right now (its first part comes next)
        index = max(p.index for p in rec.parts) + 1
        event = await load_event(self.store, event_id)
        if lifecycle.is_ended(event):
            return  # it ends: the `ended` step stops it with the parts written
        now = await self.store.now()
        try:
            space = await recordings.space_for(self.store, event, now)
        except TribuneError:
            log.info("recording: %s not continued: the recording space is used up", rec.id)
            await self.stopped(event_id, rec.id, None, "quota")
            return
        try:
            await self.plane.call(
                event_id,
                "record_start",
                id=rec.id,
                used=space.used,
                limit=space.allowed,
                part=index,
                offset=max(0.0, now - rec.started_at),
            )
        except TribuneError as exc:
            log.warning("recording: %s could not go on here: %s", rec.id, exc.message)
            await self.stopped(event_id, rec.id, None, "failed")
            return
        log.info("recording: %s goes on as part %d", rec.id, index)

    async def stop(self, event_id: str) -> Recording:
        rec = await recordings.running(self.store, event_id)
        if rec is None:
            raise TribuneError(Code.NOT_FOUND, "no recording is running")
        manifest = await self.plane.call(event_id, "record_stop", id=rec.id)
        return await self.stopped(event_id, rec.id, manifest, "") or rec

    async def stopped(
        self, event_id: str, rec_id: str, manifest: dict[str, Any] | None, reason: str
    ) -> Recording | None:
        size = int((manifest or {}).get("size_bytes", 0))
        now = await self.store.now()
        done = await recordings.finish(self.store, event_id, rec_id, manifest, size, now, reason)
        if done is not None:
            await self.status(event_id, RecordingStatus(done.state.value, done.id, reason))
            offered = await live.offer_replay(self.store, event_id)
            await self.hub.fanout.changes(offered)
            if offered:  # on demand now: the audience is mailed its replay link
                await self.hub.replay_offered(event_id)
        return done

    async def status(self, event_id: str, status: RecordingStatus) -> None:
        for namespace in (ROOM, MANAGE):
            await self.hub.fanout.emit_room(event_id, "recording.status", status, namespace)

    async def news(self, event_id: str, news: dict[str, Any]) -> None:
        """The owner stopped a recording on its own (quota), or warns about it."""
        if news.get("warning"):
            status = RecordingStatus("recording", str(news["id"]), warning=str(news["warning"]))
            await self.warn(event_id, status)
            return
        await self.stopped(event_id, str(news["id"]), news.get("manifest"), str(news["reason"]))

    async def warn(self, event_id: str, status: RecordingStatus) -> None:
        """A warning for the staff only (`/room` staff, `/manage`)."""
        await self.hub.fanout.sio.emit(
            "recording.status", wire(status), room=staff_room(event_id), namespace=ROOM
        )
        await self.hub.fanout.emit_room(event_id, "recording.status", status, MANAGE)

    async def ended(self, event_id: str) -> None:
        """The event ended: its recording stops before its media closes."""
        if await recordings.running(self.store, event_id) is not None:
            try:
                await self.stop(event_id)
            except TribuneError:
                log.warning("recording: could not stop the recording of %s", event_id)


def register(hub: Hub, plane: MediaPlane) -> Recorder:
    steps = Recorder(hub, plane)
    plane.recording_listeners.append(steps.news)
    plane.owner_listeners.append(steps.resume)

    async def start(ctx: Ctx, _: RecordingStart) -> RecordingAck:
        rec = await steps.start(ctx.event_id, ctx.person.identity)
        return RecordingAck(RecordingRef(rec.id, rec.state.value))

    async def stop(ctx: Ctx, _: RecordingStop) -> RecordingAck:
        rec = await steps.stop(ctx.event_id)
        return RecordingAck(RecordingRef(rec.id, rec.state.value))

    def connected(namespace: str) -> Callable[[Ctx], Awaitable[None]]:
        async def tell(ctx: Ctx) -> None:
            # A page that joins while a recording runs shows it at once.
            rec = await recordings.running(ctx.store, ctx.event_id)
            if rec is not None:
                status = RecordingStatus(rec.state.value, rec.id)
                await hub.fanout.emit_to(ctx.sid, "recording.status", status, namespace)

        return tell

    for ns in (hub.room, hub.manage):
        ns.add("recording.start", RecordingStart, Action.RECORD, start)
        ns.add("recording.stop", RecordingStop, Action.RECORD, stop)
        ns.on_connect.append(connected(ns.name))
    hub.on_event_end.insert(0, steps.ended)
    hub.on_event_live.append(steps.auto)
    return steps
