"""The stage over Socket.IO: publish, subscribe, stop; one SFU per live event on this node.

Signaling asks `room.stage` for the slots first (the limits hold in the store,
across nodes), then drives `media.Sfu`. Offer/answer flow: docs/media.md.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from collections.abc import Mapping

from media import IceServer, InvalidDescription, NoFreeSlot, Sfu, StageTrack, UnknownPeer
from media import Source as MediaSource
from media.rtc import restrict_host_addresses
from room import stage
from room.accounts.account import get_account
from room.errors import Code, TribuneError, invalid
from room.events import load_event
from room.permissions import Action
from room.presence import roster
from room.records import Person
from room.stage import Source
from signaling.config import Config
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
    Tracks,
    TrackView,
)
from signaling.socket.dispatch import Ctx, Session
from signaling.socket.fanout import ROOM
from signaling.socket.hub import Hub

log = logging.getLogger(__name__)


def wire(source: Source) -> MediaSource:
    return source.value


def host_candidates(config: Config) -> list[str] | None:
    """ICE host candidates on the configured interface; every interface for a wildcard."""
    if config.media_host:
        return [config.media_host]
    try:
        ip = ipaddress.ip_address(config.host)
    except ValueError:
        return None
    return None if ip.is_unspecified else [str(ip)]


def tracks_view(tracks: tuple[StageTrack, ...]) -> list[TrackView]:
    return [TrackView(t.publisher_id, t.source, t.kind, t.mid) for t in tracks]


class MediaPlane:
    """The SFUs of this node, one per event with media, created on first use."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.sfus: dict[str, Sfu] = {}
        self.ice = [IceServer.parse(u) for u in hub.config.ice_servers]
        restrict_host_addresses(host_candidates(hub.config))

    async def sfu(self, event_id: str) -> Sfu:
        existing = self.sfus.get(event_id)
        if existing is not None:
            return existing
        event = await load_event(self.hub.store, event_id)
        plan = (await get_account(self.hub.store, event.account_id)).plan
        if event_id not in self.sfus:  # checked again: the awaits above may have raced
            self.sfus[event_id] = Sfu(
                video_slots=plan.stage_cameras + plan.stage_screens,
                audio_slots=plan.stage_mics,
                ice_servers=self.ice,
                on_stage_change=lambda tracks: self.hub.background(self._tracks(event_id, tracks)),
            )
        return self.sfus[event_id]

    async def _tracks(self, event_id: str, tracks: tuple[StageTrack, ...]) -> None:
        await self.hub.fanout.emit_room(event_id, "media.tracks", Tracks(tracks_view(tracks)), ROOM)

    async def publish(
        self, event_id: str, identity: str, sdp: str, sources: Mapping[str, Source]
    ) -> str:
        """Hand the offer to the event's SFU; its refusals become the wire's codes."""
        sfu = await self.sfu(event_id)
        try:
            return await sfu.publish(identity, sdp, {m: wire(s) for m, s in sources.items()})
        except InvalidDescription as exc:
            raise invalid(f"offer refused: {exc}"[:300], "sdp") from None
        except NoFreeSlot as exc:
            raise TribuneError(Code.STAGE_FULL, str(exc)) from None

    async def stop_track(self, event_id: str, identity: str, source: Source) -> None:
        """Take one of his tracks off this node's SFU; nothing for someone without media."""
        sfu = self.sfus.get(event_id)
        if sfu is not None:
            with contextlib.suppress(UnknownPeer):  # he never published here
                await sfu.stop_track(identity, wire(source))

    async def unpublish(self, event_id: str, identity: str) -> None:
        """Close his publish connection on this node; nothing for someone without media."""
        sfu = self.sfus.get(event_id)
        if sfu is not None:
            with contextlib.suppress(UnknownPeer):  # he never published here
                await sfu.unpublish(identity)

    async def unsubscribe(self, event_id: str, sid: str) -> None:
        """Close the subscribe connection of `sid`; nothing if it never subscribed here."""
        sfu = self.sfus.get(event_id)
        if sfu is not None:
            with contextlib.suppress(UnknownPeer):
                await sfu.unsubscribe(sid)

    async def close_event(self, event_id: str) -> None:
        sfu = self.sfus.pop(event_id, None)
        if sfu is not None:
            await sfu.close()

    async def close(self) -> None:
        for event_id in list(self.sfus):
            await self.close_event(event_id)

    async def stop_source(self, event_id: str, identity: str, source: Source) -> None:
        """Stop one of `identity`'s sources: its stage slot in the store and its SFU track."""
        await self.hub.fanout.changes(await stage.leave(self.hub.store, event_id, identity, source))
        await self.stop_track(event_id, identity, source)

    async def take_off_stage(self, event_id: str, identity: str) -> None:
        """Stop everything `identity` publishes (slots in the store and tracks in the SFU)."""
        await self.hub.fanout.changes(await stage.leave_all(self.hub.store, event_id, identity))
        await self.unpublish(event_id, identity)

    async def stopped(self, event_id: str, identity: str, source: Source | None, by: str) -> None:
        """Tell the person whose media was stopped, so his page stops sending."""
        await self.hub.fanout.notify(event_id, identity, "media.stopped", Stopped(source, by))


def register(hub: Hub) -> MediaPlane:
    plane = MediaPlane(hub)
    r = hub.room
    fanout = hub.fanout

    @r.route("media.publish", Publish, Action.PUBLISH_IN_MEETING)
    async def publish(ctx: Ctx, p: Publish) -> SdpAck:
        claim = stage.Claim(ctx.store, ctx.event_id, ctx.person, list(p.sources.values()))
        try:
            await claim.take()
            answer = await plane.publish(ctx.event_id, ctx.person.identity, p.sdp, p.sources)
        except TribuneError:
            await claim.undo()
            await fanout.changes(claim.changes)
            raise
        await claim.settle()
        await fanout.changes(claim.changes)
        return SdpAck(answer)

    @r.route("media.stop", Stop, Action.PUBLISH_IN_MEETING)
    async def stop(ctx: Ctx, p: Stop) -> None:
        await plane.stop_source(ctx.event_id, ctx.person.identity, p.source)

    @r.route("media.stop_other", StopOther, Action.STOP_OTHERS_MEDIA)
    async def stop_other(ctx: Ctx, p: StopOther) -> None:
        await stage.require_may_stop(ctx.store, ctx.event_id, ctx.person, p.person)
        if p.source is None:
            await plane.take_off_stage(ctx.event_id, p.person)
        else:
            await plane.stop_source(ctx.event_id, p.person, p.source)
        await plane.stopped(ctx.event_id, p.person, p.source, by=ctx.person.name)

    @r.route("media.subscribe", Subscribe, Action.SUBSCRIBE)
    async def subscribe(ctx: Ctx, _: Subscribe) -> SubscribeAck:
        sfu = await plane.sfu(ctx.event_id)
        offer = await sfu.subscribe(ctx.sid, skip_publisher=ctx.person.identity)
        return SubscribeAck(
            sdp=offer.sdp,
            slots=[SlotView(s.mid, s.kind) for s in offer.slots],
            tracks=tracks_view(sfu.stage()),
            ice_servers=[IceServerView(list(s.urls), s.username, s.credential) for s in plane.ice],
        )

    @r.route("media.answer", Answer, Action.SUBSCRIBE)
    async def answer(ctx: Ctx, p: Answer) -> None:
        sfu = plane.sfus.get(ctx.event_id)
        if sfu is None:
            raise TribuneError(Code.NOT_FOUND, "subscribe first")
        try:
            await sfu.answer(ctx.sid, p.sdp)
        except UnknownPeer:
            raise TribuneError(Code.NOT_FOUND, "subscribe first") from None
        except InvalidDescription as exc:
            raise invalid(f"answer refused: {exc}"[:300], "sdp") from None

    async def left(session: Session, sid: str) -> None:
        # His subscription ends with the connection. His publication lives on the SFU of
        # his connection's node, this one: it ends too once he left the event for good
        # (removed), but stays through a reconnect within grace.
        if session.event_id not in plane.sfus:
            return
        await plane.unsubscribe(session.event_id, sid)
        if await roster.get_person(hub.store, session.event_id, session.identity) is None:
            await plane.unpublish(session.event_id, session.identity)

    async def forgotten(event_id: str, identity: str) -> None:
        # His lease already released his slots (and the room was told): stop his tracks.
        await plane.unpublish(event_id, identity)

    async def role_changed(event_id: str, person: Person) -> None:
        event = await load_event(hub.store, event_id)
        if not stage.may_publish(person, event):
            await plane.take_off_stage(event_id, person.identity)
            await plane.stopped(event_id, person.identity, None, by="")

    hub.on_leave.append(left)
    hub.on_forget.append(forgotten)
    hub.on_role_change.append(role_changed)
    hub.on_event_end.append(plane.close_event)
    return plane
