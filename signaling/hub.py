"""The live room over Socket.IO: connect/admission, event dispatch, fan-out, leases.

Handlers turn wire events into domain calls (`room.presence`, `room.lifecycle`)
and the `Change`s those return into emits. Rules live in `room/`; who may send
what lives in `room.permissions`; payload shapes in `signaling.schemas`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from room import changes, lifecycle, presence
from room.changes import Audience, Change
from room.errors import Code, TribuneError, invalid
from room.events import load_event, load_invitation
from room.permissions import Action, is_staff, require
from room.records import Person
from room.seats import holder
from room.store import Store
from signaling.config import Config
from signaling.ratelimit import TokenBucket
from signaling.schemas import ConnectAuth, Empty, PersonRemove, RoleSet, Sync, validate
from signaling.tokens import Tokens
from signaling.wire import Server

log = logging.getLogger(__name__)

ROOM = "/room"


def all_room(event_id: str) -> str:
    return f"ev:{event_id}"


def staff_room(event_id: str) -> str:
    return f"ev:{event_id}:staff"


def audience_room(event_id: str) -> str:
    return f"ev:{event_id}:aud"


@dataclass
class Session:
    """What this node knows about one of its connections. Roles are read fresh from the
    store on every event, so a promotion made on another node applies at once."""

    event_id: str
    identity: str
    bucket: TokenBucket


@dataclass
class Ctx:
    sid: str
    session: Session
    person: Person

    @property
    def event_id(self) -> str:
        return self.session.event_id


Handler = Callable[[Ctx, Any], Awaitable[dict[str, Any] | None]]


@dataclass
class Route:
    schema: type[Any]
    action: Action
    handler: Handler


@dataclass
class Namespace:
    """The routes of one Socket.IO namespace; later features add routes to it."""

    name: str
    routes: dict[str, Route] = field(default_factory=dict)

    def route(self, event: str, schema: type[Any], action: Action) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.routes[event] = Route(schema, action, fn)
            return fn

        return register


def ok(**extra: Any) -> dict[str, Any]:
    return {"ok": True, **extra}


def fail(err: TribuneError) -> dict[str, Any]:
    return {"ok": False, "error": err.to_wire()}


class Hub:
    def __init__(self, sio: Server, store: Store, tokens: Tokens, config: Config) -> None:
        self.sio = sio
        self.store = store
        self.tokens = tokens
        self.config = config
        self.sessions: dict[str, Session] = {}
        self.room = Namespace(ROOM)
        self._tasks: list[asyncio.Task[None]] = []
        self._count_due: dict[str, asyncio.TimerHandle] = {}
        self._pending: set[asyncio.Future[None]] = set()
        self.on_forget: list[Callable[[str, str], Awaitable[None]]] = []
        """Hooks run when an identity leaves an event for good (media takes it off stage)."""
        self.on_role_change: list[Callable[[str, Person], Awaitable[None]]] = []
        """Hooks run after a promotion or demotion (a demoted presenter leaves the stage)."""
        sio.on("connect", self._connect, namespace=ROOM)
        sio.on("disconnect", self._disconnect, namespace=ROOM)
        sio.on("*", self._dispatch, namespace=ROOM)
        self._routes()

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._every(self.config.renew_every, self._renew)),
            asyncio.create_task(self._every(self.config.sweep_every, self._sweep)),
        ]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []
        for handle in self._count_due.values():
            handle.cancel()
        self._count_due.clear()

    async def _every(self, seconds: float, fn: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await fn()
            except Exception:
                log.exception("periodic task %s failed", fn.__name__)

    async def _renew(self) -> None:
        holders = sorted({holder(s.event_id, s.identity) for s in self.sessions.values()})
        for i in range(0, len(holders), 1000):
            await presence.renew(self.store, holders[i : i + 1000], self.config.lease_ttl)

    async def _sweep(self) -> None:
        await self.fan_out(await presence.expire(self.store))

    # -- fan-out -----------------------------------------------------------------
    async def fan_out(self, items: Iterable[Change]) -> None:
        for change in items:
            if change.name.startswith("roster."):
                self._count_soon(change.event_id)
            if change.name == "roster.left":
                ident = change.payloads[Audience.STAFF]["person"]["person"]
                for hook in self.on_forget:
                    await hook(change.event_id, ident)
            if Audience.ALL in change.payloads:
                await self.sio.emit(
                    change.name,
                    change.payloads[Audience.ALL],
                    room=all_room(change.event_id),
                    namespace=ROOM,
                )
                continue
            if Audience.STAFF in change.payloads:
                await self.sio.emit(
                    change.name,
                    change.payloads[Audience.STAFF],
                    room=staff_room(change.event_id),
                    namespace=ROOM,
                )
            if Audience.AUDIENCE in change.payloads:
                await self.sio.emit(
                    change.name,
                    change.payloads[Audience.AUDIENCE],
                    room=audience_room(change.event_id),
                    namespace=ROOM,
                )

    def _count_soon(self, event_id: str) -> None:
        """Coalesce the audience's head-count: one emit per event per `count_every` seconds,
        so 1,000 joins cost 1,000 small emits, not a million."""
        if event_id in self._count_due:
            return
        loop = asyncio.get_running_loop()
        self._count_due[event_id] = loop.call_later(
            self.config.count_every, lambda: asyncio.ensure_future(self._emit_count(event_id))
        )

    async def _emit_count(self, event_id: str) -> None:
        self._count_due.pop(event_id, None)
        count = await presence.roster_count(self.store, event_id)
        rev = await changes.current_rev(self.store, event_id)
        await self.sio.emit(
            "roster.count", {"count": count, "rev": rev}, room=all_room(event_id), namespace=ROOM
        )

    async def _set_rooms(self, sid: str, event_id: str, staff: bool) -> None:
        await self.sio.enter_room(sid, all_room(event_id), namespace=ROOM)
        await self.sio.enter_room(
            sid, staff_room(event_id) if staff else audience_room(event_id), namespace=ROOM
        )
        await self.sio.leave_room(
            sid, audience_room(event_id) if staff else staff_room(event_id), namespace=ROOM
        )

    # -- connect / disconnect ----------------------------------------------------------
    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            a = validate(auth, ConnectAuth)
            claims = self.tokens.verify(a.token)
            try:
                inv = await load_invitation(self.store, claims.event_id, claims.invitation)
            except TribuneError:
                raise TribuneError(Code.UNAUTHORIZED, "this link was withdrawn") from None
            if inv.gen != claims.gen:
                raise TribuneError(Code.UNAUTHORIZED, "this link was re-issued; use the new one")
            adm = await presence.admit(self.store, inv, a.device, a.name, self.config.lease_ttl)
        except TribuneError as err:
            # python-socketio sends this dict as the connect_error data
            from socketio.exceptions import ConnectionRefusedError as Refused

            raise Refused(err.to_wire()) from None
        person = adm.person
        event_id = adm.event.id
        old = await presence.bind_connection(self.store, event_id, person.identity, sid)
        self.sessions[sid] = Session(
            event_id=event_id,
            identity=person.identity,
            bucket=TokenBucket(self.config.rate_per_second, self.config.rate_burst),
        )
        await self._set_rooms(sid, event_id, is_staff(person.role))
        if old is not None:
            await self.sio.emit(
                "replaced",
                {"code": "replaced", "message": "you joined from another window or device"},
                to=old,
                namespace=ROOM,
            )
            await self.sio.disconnect(old, namespace=ROOM)
        # The CONNECT packet is queued after this handler returns; send the snapshot after it.
        task = asyncio.ensure_future(self._after_connect(sid, adm.changes, a.rev))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _after_connect(self, sid: str, items: list[Change], rev: int | None) -> None:
        await asyncio.sleep(0)
        try:
            session = self.sessions.get(sid)
            if session is None:
                return
            person = await presence.get_person(self.store, session.event_id, session.identity)
            if person is not None:
                await self.send_state(sid, session.event_id, person)
            await self.fan_out(items)
        except Exception:
            log.exception("after-connect failed for %s", sid)

    async def send_state(self, sid: str, event_id: str, person: Person) -> None:
        """A fresh snapshot for one connection (on connect, and when its role changes)."""
        event = await load_event(self.store, event_id)
        state = await presence.room_state(self.store, event, person)
        await self.sio.emit("room.state", state, to=sid, namespace=ROOM)

    async def _disconnect(self, sid: str, reason: Any = None) -> None:
        session = self.sessions.pop(sid, None)
        if session is None:
            return
        try:
            await self.fan_out(
                await presence.disconnected(
                    self.store, session.event_id, session.identity, sid, self.config.grace
                )
            )
        except Exception:
            log.exception("disconnect bookkeeping failed for %s", sid)

    # -- dispatch ------------------------------------------------------------------
    async def _dispatch(self, event: Any, sid: str, *args: Any) -> dict[str, Any]:
        session = self.sessions.get(sid)
        if session is None:
            return fail(TribuneError(Code.UNAUTHORIZED, "not joined"))
        if not session.bucket.take():
            return fail(TribuneError(Code.RATE_LIMITED, "too many requests; slow down"))
        route = self.room.routes.get(event) if isinstance(event, str) else None
        if route is None:
            return fail(invalid(f"unknown event {str(event)[:64]!r}", "event"))
        try:
            if len(args) > 1:
                raise invalid("send one payload object", "payload")
            payload = validate(args[0] if args else None, route.schema)
            person = await presence.get_person(self.store, session.event_id, session.identity)
            if person is None:
                raise TribuneError(Code.UNAUTHORIZED, "you are no longer in this event")
            require(person.role, route.action)
            result = await route.handler(Ctx(sid, session, person), payload)
            return ok(**(result or {}))
        except TribuneError as err:
            return fail(err)
        except Exception:
            log.exception("handler %s failed", event)
            return fail(TribuneError(Code.INTERNAL, "internal error"))

    # -- the room's events --------------------------------------------------------------
    def _routes(self) -> None:
        r = self.room

        @r.route("event.start", Empty, Action.START_EVENT)
        async def start(ctx: Ctx, _: Empty) -> dict[str, Any]:
            event, items = await lifecycle.start(self.store, ctx.event_id)
            await self.fan_out(items)
            return {"state": event.state.value}

        @r.route("event.end", Empty, Action.END_EVENT)
        async def end(ctx: Ctx, _: Empty) -> dict[str, Any]:
            event, items = await lifecycle.end(self.store, ctx.event_id)
            await self.fan_out(items)
            return {"state": event.state.value}

        @r.route("role.set", RoleSet, Action.SET_ROLE)
        async def set_role(ctx: Ctx, p: RoleSet) -> dict[str, Any]:
            before = await presence.require_person(self.store, ctx.event_id, p.person)
            person, items = await presence.set_role(self.store, ctx.event_id, p.person, p.role)
            target = await presence.connection_of(self.store, ctx.event_id, p.person)
            if target is not None and is_staff(before.role) != is_staff(person.role):
                await self._set_rooms(target, ctx.event_id, is_staff(person.role))
            await self.fan_out(items)
            if target is not None and items:
                await self.send_state(target, ctx.event_id, person)
            if items:
                for hook in self.on_role_change:
                    await hook(ctx.event_id, person)
            return {"person": person.view()}

        @r.route("hand.raise", Empty, Action.RAISE_HAND)
        async def hand_raise(ctx: Ctx, _: Empty) -> None:
            await self.fan_out(
                await presence.raise_hand(self.store, ctx.event_id, ctx.person.identity)
            )

        @r.route("hand.lower", Empty, Action.RAISE_HAND)
        async def hand_lower(ctx: Ctx, _: Empty) -> None:
            await self.fan_out(
                await presence.lower_hand(self.store, ctx.event_id, ctx.person.identity)
            )

        @r.route("hand.next", Empty, Action.TAKE_HAND)
        async def hand_next(ctx: Ctx, _: Empty) -> dict[str, Any]:
            person, items = await presence.next_hand(self.store, ctx.event_id)
            await self.fan_out(items)
            return {"person": None if person is None else person.view()}

        @r.route("person.remove", PersonRemove, Action.REMOVE_PERSON)
        async def remove(ctx: Ctx, p: PersonRemove) -> None:
            sid, items = await presence.remove(self.store, ctx.event_id, p.person, p.ban)
            if sid is not None:
                await self.sio.emit(
                    "removed",
                    {"code": "banned" if p.ban else "removed", "message": "you were removed"},
                    to=sid,
                    namespace=ROOM,
                )
                self.sessions.pop(sid, None)
                await self.sio.disconnect(sid, namespace=ROOM)
            await self.fan_out(items)

        @r.route("sync", Sync, Action.SYNC)
        async def sync(ctx: Ctx, p: Sync) -> dict[str, Any]:
            current, missed = await changes.since(self.store, ctx.event_id, p.rev)
            if missed is None:
                event = await load_event(self.store, ctx.event_id)
                state = await presence.room_state(self.store, event, ctx.person)
                return {"rev": current, "snapshot": state}
            staff = is_staff(ctx.person.role)
            out = []
            for c in missed:
                data = c.for_staff(staff)
                if data is not None:
                    out.append({"event": c.name, "data": data})
            return {"rev": current, "changes": out}
