"""The /room namespace's events: lifecycle, roles, hands, removal, sync (docs/protocol.md)."""

from __future__ import annotations

from room import live
from room.events import load_event
from room.permissions import Action
from room.presence import admission, hands, leases, roles, roster
from signaling.schemas.room import (
    EventStateAck,
    PersonAck,
    PersonRemove,
    Replay,
    RoleSet,
    Snapshot,
    Sync,
)
from signaling.schemas.validation import Empty
from signaling.socket.dispatch import Ctx
from signaling.socket.hub import Hub


async def send_state(ctx: Ctx) -> None:
    """The room snapshot for one connection (on connect, on role change, on stale sync)."""
    event = await load_event(ctx.store, ctx.event_id)
    state = await roster.room_state(ctx.store, event, ctx.person)
    await ctx.fanout.emit_to(ctx.sid, "room.state", state, ctx.session.namespace)


def register(hub: Hub) -> None:
    r = hub.room
    r.on_connect.append(send_state)
    hub.screen.on_connect.append(send_state)
    fanout = hub.fanout

    @r.route("event.start", Empty, Action.START_EVENT)
    async def start(ctx: Ctx, _: Empty) -> EventStateAck:
        event, items = await live.start(ctx.store, ctx.event_id)
        await fanout.changes(items)
        if items:
            await hub.event_live(ctx.event_id)
        return EventStateAck(event.state)

    @r.route("event.end", Empty, Action.END_EVENT)
    async def end(ctx: Ctx, _: Empty) -> EventStateAck:
        event, items = await live.end(ctx.store, ctx.event_id)
        await fanout.changes(items)
        if items:
            await hub.event_ended(ctx.event_id)
        return EventStateAck(event.state)

    @r.route("role.set", RoleSet, Action.SET_ROLE)
    async def set_role(ctx: Ctx, p: RoleSet) -> PersonAck:
        person, items = await roles.set_role(ctx.store, ctx.event_id, p.person, p.role)
        if not items:
            return PersonAck(person.view())
        target = await leases.connection_of(ctx.store, ctx.event_id, p.person)
        if target is not None:
            await fanout.set_rooms(target, ctx.event_id, person.role)
        await fanout.changes(items)
        await hub.role_changed(ctx.event_id, person)
        session = hub.sessions.get(target) if target is not None else None
        if target is not None and session is not None:
            await send_state(Ctx(fanout, target, session, person))
        # (a connection on another node asks `sync {full: true}` on its role.changed)
        return PersonAck(person.view())

    @r.route("hand.raise", Empty, Action.RAISE_HAND)
    async def hand_raise(ctx: Ctx, _: Empty) -> None:
        await fanout.changes(await hands.raise_hand(ctx.store, ctx.event_id, ctx.person.identity))

    @r.route("hand.lower", Empty, Action.RAISE_HAND)
    async def hand_lower(ctx: Ctx, _: Empty) -> None:
        await fanout.changes(await hands.lower_hand(ctx.store, ctx.event_id, ctx.person.identity))

    @r.route("hand.next", Empty, Action.TAKE_HAND)
    async def hand_next(ctx: Ctx, _: Empty) -> PersonAck:
        person, items = await hands.next_hand(ctx.store, ctx.event_id)
        await fanout.changes(items)
        return PersonAck(None if person is None else person.view())

    async def remove_person(ctx: Ctx, p: PersonRemove) -> None:
        """Remove (and maybe ban) someone: he is told, disconnected, and the room hears it."""
        eviction, items = await admission.remove(
            ctx.store, ctx.event_id, p.person, p.ban, hub.config.address_ban
        )
        if eviction is not None:
            await hub.evict(eviction, forget=True)
        if p.ban:  # his other connections (manager page, second screen) close too
            await hub.revoke(ctx.event_id)
        await fanout.changes(items)

    async def sync(ctx: Ctx, p: Sync) -> Replay | Snapshot:
        rev, missed = await fanout.replay(ctx.event_id, ctx.person.role, p.rev)
        if missed is not None and not p.full:
            return Replay(rev, missed)
        event = await load_event(ctx.store, ctx.event_id)
        return Snapshot(rev, await roster.room_state(ctx.store, event, ctx.person))

    for ns in (hub.room, hub.manage):
        ns.add("person.remove", PersonRemove, Action.REMOVE_PERSON, remove_person)
    for ns in (hub.room, hub.screen):
        ns.add("sync", Sync, Action.SYNC, sync)
