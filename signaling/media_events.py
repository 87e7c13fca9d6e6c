"""The stage over Socket.IO: publish, subscribe, stop; one SFU per live event on this node.

Signaling asks `room.stage` for the slot first (the limits hold in the store,
across nodes), then drives `media.Sfu`. Offer/answer flow: docs/media.md.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from typing import Annotated, Any

import msgspec

from media import IceServer, InvalidDescription, NoFreeSlot, Sfu, StageTrack, UnknownPeer
from media import Source as MediaSource
from media.rtc import restrict_host_addresses
from room import stage
from room.accounts.account import get_account
from room.errors import Code, TribuneError, invalid
from room.events import load_event
from room.permissions import Action
from room.records import Person
from room.stage import Source
from signaling.config import Config
from signaling.hub import ROOM, Ctx, Hub, Session, all_room

log = logging.getLogger(__name__)

Sdp = Annotated[str, msgspec.Meta(min_length=10, max_length=64 * 1024)]
Mid = Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
PersonId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class Publish(msgspec.Struct, forbid_unknown_fields=True):
    sdp: Sdp
    sources: Annotated[dict[Mid, Source], msgspec.Meta(max_length=3)]
    """mid -> source: everything this person sends from now on."""


class Stop(msgspec.Struct, forbid_unknown_fields=True):
    source: Source


class StopOther(msgspec.Struct, forbid_unknown_fields=True):
    person: PersonId
    source: Source | None = None
    """None: everything he publishes."""


class Subscribe(msgspec.Struct, forbid_unknown_fields=True):
    pass


class Answer(msgspec.Struct, forbid_unknown_fields=True):
    sdp: Sdp


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
        await self.hub.sio.emit(
            "media.tracks",
            {"tracks": tracks_view(tracks)},
            room=all_room(event_id),
            namespace=ROOM,
        )

    async def close_event(self, event_id: str) -> None:
        sfu = self.sfus.pop(event_id, None)
        if sfu is not None:
            await sfu.close()

    async def close(self) -> None:
        for event_id in list(self.sfus):
            await self.close_event(event_id)

    async def take_off_stage(self, event_id: str, identity: str) -> None:
        """Stop everything `identity` publishes (slots in the store and tracks in the SFU)."""
        await self.hub.fan_out(await stage.leave_all(self.hub.store, event_id, identity))
        sfu = self.sfus.get(event_id)
        if sfu is not None:
            await sfu.unpublish(identity)


def tracks_view(tracks: tuple[StageTrack, ...]) -> list[dict[str, str]]:
    return [
        {"person": t.publisher_id, "source": t.source, "kind": t.kind, "mid": t.mid} for t in tracks
    ]


def register(hub: Hub) -> MediaPlane:
    plane = MediaPlane(hub)
    r = hub.room

    @r.route("media.publish", Publish, Action.PUBLISH_IN_MEETING)
    async def publish(ctx: Ctx, p: Publish) -> dict[str, Any]:
        wanted = set(p.sources.values())
        if len(wanted) != len(p.sources):
            raise invalid("each source may be sent once", "sources")
        held = {
            Source(s)
            for s, people in (await stage.on_stage(ctx.store, ctx.event_id)).items()
            if ctx.person.identity in people
        }
        taken: list[Source] = []
        items = []
        try:
            for source in sorted(wanted - held):
                items += await stage.take(ctx.store, ctx.event_id, ctx.person, source)
                taken.append(source)
            sfu = await plane.sfu(ctx.event_id)
            try:
                answer = await sfu.publish(
                    ctx.person.identity, p.sdp, {m: wire(s) for m, s in p.sources.items()}
                )
            except InvalidDescription as exc:
                raise invalid(f"offer refused: {exc}"[:300], "sdp") from None
            except NoFreeSlot as exc:
                raise TribuneError(Code.STAGE_FULL, str(exc)) from None
        except TribuneError:
            for source in taken:
                items += await stage.leave(ctx.store, ctx.event_id, ctx.person.identity, source)
            await hub.fan_out(items)
            raise
        for source in held - wanted:
            items += await stage.leave(ctx.store, ctx.event_id, ctx.person.identity, source)
        await hub.fan_out(items)
        return {"sdp": answer}

    @r.route("media.stop", Stop, Action.PUBLISH_IN_MEETING)
    async def stop(ctx: Ctx, p: Stop) -> None:
        await hub.fan_out(await stage.leave(ctx.store, ctx.event_id, ctx.person.identity, p.source))
        sfu = plane.sfus.get(ctx.event_id)
        if sfu is not None:
            await sfu.stop_track(ctx.person.identity, wire(p.source))

    @r.route("media.stop_other", StopOther, Action.STOP_OTHERS_MEDIA)
    async def stop_other(ctx: Ctx, p: StopOther) -> None:
        sfu = plane.sfus.get(ctx.event_id)
        if p.source is None:
            await plane.take_off_stage(ctx.event_id, p.person)
        else:
            await hub.fan_out(await stage.leave(ctx.store, ctx.event_id, p.person, p.source))
            if sfu is not None:
                await sfu.stop_track(p.person, wire(p.source))
        await notify_stopped(hub, ctx.event_id, p.person, p.source, by=ctx.person.name)

    @r.route("media.subscribe", Subscribe, Action.SUBSCRIBE)
    async def subscribe(ctx: Ctx, _: Subscribe) -> dict[str, Any]:
        sfu = await plane.sfu(ctx.event_id)
        offer = await sfu.subscribe(ctx.sid, skip_publisher=ctx.person.identity)
        return {
            "sdp": offer.sdp,
            "slots": [{"mid": s.mid, "kind": s.kind} for s in offer.slots],
            "tracks": tracks_view(sfu.stage()),
            "ice_servers": [
                {"urls": list(s.urls), "username": s.username, "credential": s.credential}
                for s in plane.ice
            ],
        }

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
        sfu = plane.sfus.get(session.event_id)
        if sfu is not None:
            with contextlib.suppress(UnknownPeer):  # never subscribed
                await sfu.unsubscribe(sid)

    async def forgotten(event_id: str, identity: str) -> None:
        # His lease already released his slots (and the room was told): stop his tracks.
        sfu = plane.sfus.get(event_id)
        if sfu is not None:
            await sfu.unpublish(identity)

    async def role_changed(event_id: str, person: Person) -> None:
        event = await load_event(hub.store, event_id)
        if not stage.may_publish(person, event):
            await plane.take_off_stage(event_id, person.identity)
            await notify_stopped(hub, event_id, person.identity, None, by="")

    hub.on_leave.append(left)
    hub.on_forget.append(forgotten)
    hub.on_role_change.append(role_changed)
    hub.on_event_end.append(plane.close_event)
    return plane


async def notify_stopped(
    hub: Hub, event_id: str, identity: str, source: Source | None, by: str
) -> None:
    """Tell the person whose media was stopped, so his page stops sending."""
    from room import presence

    sid = await presence.connection_of(hub.store, event_id, identity)
    if sid is not None:
        payload = {"source": None if source is None else source.value, "by": by}
        await hub.emit_to(sid, "media.stopped", payload)
