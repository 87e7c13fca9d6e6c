"""The stage over Socket.IO: publish, subscribe, stop; every call runs on the event's
media owner (`media_plane`), on this node or another.

Signaling asks `room.stage` for the slots first (the limits hold in the store,
across nodes), then drives the owner's SFU. Offer/answer flow: docs/media.md.
"""

from __future__ import annotations

import logging

from room import stage
from room.errors import TribuneError
from room.events import load_event
from room.permissions import Action
from room.presence import roster
from room.records import Person
from room.stage import Source
from signaling.schemas.media import (
    Answer,
    IceServerView,
    Publish,
    SdpAck,
    SlotView,
    Stop,
    StopOther,
    Stopped,
    Subscribe,
    SubscribeAck,
)
from signaling.socket.dispatch import Ctx, Session
from signaling.socket.hub import Hub
from signaling.socket.media_plane import MediaPlane, track_views

log = logging.getLogger(__name__)


class Stage:
    """The stage's steps that touch both the store's slots and the owner's SFU."""

    def __init__(self, hub: Hub, plane: MediaPlane) -> None:
        self.hub = hub
        self.plane = plane
        self.subscribed: set[tuple[str, str]] = set()
        """(event id, sid) of this node's sockets that subscribed (unsubscribed on leave)."""

    async def stop_source(self, event_id: str, identity: str, source: Source) -> None:
        """Stop one of `identity`'s sources: its stage slot in the store and its SFU track."""
        await self.hub.fanout.changes(await stage.leave(self.hub.store, event_id, identity, source))
        await self.plane.call_if_owned(
            event_id, "stop_track", identity=identity, source=source.value
        )

    async def take_off_stage(self, event_id: str, identity: str) -> None:
        """Stop everything `identity` publishes (slots in the store and tracks in the SFU)."""
        await self.hub.fanout.changes(await stage.leave_all(self.hub.store, event_id, identity))
        await self.plane.call_if_owned(event_id, "unpublish", identity=identity)

    async def stopped(self, event_id: str, identity: str, source: Source | None, by: str) -> None:
        """Tell the person whose media was stopped, so his page stops sending."""
        await self.hub.fanout.notify(event_id, identity, "media.stopped", Stopped(source, by))


def register(hub: Hub) -> MediaPlane:
    plane = MediaPlane(hub)
    steps = Stage(hub, plane)
    r = hub.room
    fanout = hub.fanout

    @r.route("media.publish", Publish, Action.PUBLISH_IN_MEETING)
    async def publish(ctx: Ctx, p: Publish) -> SdpAck:
        claim = stage.Claim(ctx.store, ctx.event_id, ctx.person, list(p.sources.values()))
        sources = {mid: source.value for mid, source in p.sources.items()}
        try:
            await claim.take()
            answer = await plane.call(
                ctx.event_id, "publish", identity=ctx.person.identity, sdp=p.sdp, sources=sources
            )
        except TribuneError:
            await claim.undo()
            await fanout.changes(claim.changes)
            raise
        await claim.settle()
        await fanout.changes(claim.changes)
        return SdpAck(str(answer))

    @r.route("media.stop", Stop, Action.PUBLISH_IN_MEETING)
    async def stop(ctx: Ctx, p: Stop) -> None:
        await steps.stop_source(ctx.event_id, ctx.person.identity, p.source)

    @r.route("media.stop_other", StopOther, Action.STOP_OTHERS_MEDIA)
    async def stop_other(ctx: Ctx, p: StopOther) -> None:
        await stage.require_may_stop(ctx.store, ctx.event_id, ctx.person, p.person)
        if p.source is None:
            await steps.take_off_stage(ctx.event_id, p.person)
        else:
            await steps.stop_source(ctx.event_id, p.person, p.source)
        await steps.stopped(ctx.event_id, p.person, p.source, by=ctx.person.name)

    @r.route("media.subscribe", Subscribe, Action.SUBSCRIBE)
    async def subscribe(ctx: Ctx, _: Subscribe) -> SubscribeAck:
        offer = await plane.call(ctx.event_id, "subscribe", sid=ctx.sid, skip=ctx.person.identity)
        steps.subscribed.add((ctx.event_id, ctx.sid))
        return SubscribeAck(
            sdp=offer["sdp"],
            slots=[SlotView(mid, kind) for mid, kind in offer["slots"]],
            tracks=track_views(offer["tracks"]),
            ice_servers=[IceServerView(list(s.urls), s.username, s.credential) for s in plane.ice],
            epoch=offer["epoch"],
        )

    @r.route("media.answer", Answer, Action.SUBSCRIBE)
    async def answer(ctx: Ctx, p: Answer) -> None:
        await plane.call(ctx.event_id, "answer", sid=ctx.sid, sdp=p.sdp)

    async def left(session: Session, sid: str) -> None:
        # His subscription ends with the connection. His publication ends too once he left
        # the event for good (removed), but stays through a reconnect within grace.
        if (session.event_id, sid) in steps.subscribed:
            steps.subscribed.discard((session.event_id, sid))
            await plane.call_if_owned(session.event_id, "unsubscribe", sid=sid)
        if await roster.get_person(hub.store, session.event_id, session.identity) is None:
            await plane.call_if_owned(session.event_id, "unpublish", identity=session.identity)

    async def forgotten(event_id: str, identity: str) -> None:
        # His lease already released his slots (and the room was told): stop his tracks.
        await plane.call_if_owned(event_id, "unpublish", identity=identity)

    async def role_changed(event_id: str, person: Person) -> None:
        event = await load_event(hub.store, event_id)
        if not stage.may_publish(person, event):
            await steps.take_off_stage(event_id, person.identity)
            await steps.stopped(event_id, person.identity, None, by="")

    async def ended(event_id: str) -> None:
        steps.subscribed = {(e, sid) for e, sid in steps.subscribed if e != event_id}
        await plane.close_event(event_id)

    hub.on_leave.append(left)
    hub.on_forget.append(forgotten)
    hub.on_role_change.append(role_changed)
    hub.on_event_end.append(ended)
    hub.on_drain.append(plane.hand_over_all)
    return plane
