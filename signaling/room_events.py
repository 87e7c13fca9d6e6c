"""The /room namespace's events: lifecycle, roles, hands, removal, sync (docs/protocol.md)."""

from __future__ import annotations

from typing import Any

from room import live, presence
from room.events import load_event
from room.permissions import Action, is_staff
from signaling.hub import ROOM, SCREEN, Ctx, Hub
from signaling.schemas.room import Empty, PersonRemove, RoleSet, Sync


async def send_state(ctx: Ctx) -> None:
    """The room snapshot for one connection (on connect, on role change, on stale sync)."""
    event = await load_event(ctx.store, ctx.event_id)
    state = await presence.room_state(ctx.store, event, ctx.person)
    await ctx.hub.emit_to(ctx.sid, "room.state", state, ctx.session.namespace)


async def remove_person(ctx: Ctx, p: PersonRemove) -> None:
    """Remove (and maybe ban) someone: he is told, disconnected, and the room hears it.
    Served on /room and /manage alike."""
    hub = ctx.hub
    sid, items = await presence.remove(ctx.store, ctx.event_id, p.person, p.ban)
    if sid is not None:
        code = "banned" if p.ban else "removed"
        await hub.emit_to(sid, "removed", {"code": code, "message": "you were removed"})
        hub.sessions.pop(sid, None)
        await hub.sio.disconnect(sid, namespace=ROOM)
    await hub.fan_out(items)


def register(hub: Hub) -> None:
    r = hub.room
    r.on_connect.append(send_state)
    hub.screen.on_connect.append(send_state)

    @r.route("event.start", Empty, Action.START_EVENT)
    async def start(ctx: Ctx, _: Empty) -> dict[str, Any]:
        event, items = await live.start(ctx.store, ctx.event_id)
        await hub.fan_out(items)
        return {"state": event.state.value}

    @r.route("event.end", Empty, Action.END_EVENT)
    async def end(ctx: Ctx, _: Empty) -> dict[str, Any]:
        event, items = await live.end(ctx.store, ctx.event_id)
        await hub.fan_out(items)
        if items:
            for hook in hub.on_event_end:
                await hook(ctx.event_id)
        return {"state": event.state.value}

    @r.route("role.set", RoleSet, Action.SET_ROLE)
    async def set_role(ctx: Ctx, p: RoleSet) -> dict[str, Any]:
        before = await presence.require_person(ctx.store, ctx.event_id, p.person)
        person, items = await presence.set_role(ctx.store, ctx.event_id, p.person, p.role)
        target = await presence.connection_of(ctx.store, ctx.event_id, p.person)
        if target is not None and is_staff(before.role) != is_staff(person.role):
            await hub.set_rooms(target, ctx.event_id, is_staff(person.role))
        await hub.fan_out(items)
        if items:
            for hook in hub.on_role_change:
                await hook(ctx.event_id, person)
            session = hub.sessions.get(target) if target is not None else None
            if target is not None and session is not None:
                await send_state(Ctx(hub, target, session, person))
            # (a connection on another node asks `sync {full: true}` on its role.changed)
        return {"person": person.view()}

    @r.route("hand.raise", Empty, Action.RAISE_HAND)
    async def hand_raise(ctx: Ctx, _: Empty) -> None:
        await hub.fan_out(await presence.raise_hand(ctx.store, ctx.event_id, ctx.person.identity))

    @r.route("hand.lower", Empty, Action.RAISE_HAND)
    async def hand_lower(ctx: Ctx, _: Empty) -> None:
        await hub.fan_out(await presence.lower_hand(ctx.store, ctx.event_id, ctx.person.identity))

    @r.route("hand.next", Empty, Action.TAKE_HAND)
    async def hand_next(ctx: Ctx, _: Empty) -> dict[str, Any]:
        person, items = await presence.next_hand(ctx.store, ctx.event_id)
        await hub.fan_out(items)
        return {"person": None if person is None else person.view()}

    r.route("person.remove", PersonRemove, Action.REMOVE_PERSON)(remove_person)

    async def sync(ctx: Ctx, p: Sync) -> dict[str, Any]:
        out = await hub.replay(ctx, p.rev)
        if out["changes"] is None or p.full:
            event = await load_event(ctx.store, ctx.event_id)
            del out["changes"]
            out["snapshot"] = await presence.room_state(ctx.store, event, ctx.person)
        return out

    r.route("sync", Sync, Action.SYNC)(sync)
    hub.namespaces[SCREEN].route("sync", Sync, Action.SYNC)(sync)
