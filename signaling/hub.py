"""The Socket.IO hub: connections, event dispatch, fan-out, and the leases of connected people.

Three namespaces share it: `/room` (attendees and stage; joining takes a seat),
`/manage` (staff manager pages) and `/screen` (moderator second screens); the
last two take no seat. Feature modules register routes on a namespace
(`signaling.room_events`, ...). Handlers turn wire events into domain calls and
the domain's `Change`s into emits: rules live in `room/` and `moderation/`, who
may send what in `room.permissions`, payload shapes in `signaling.schemas`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from socketio.exceptions import ConnectionRefusedError as Refused

from room import changes, lifecycle, presence, tasks
from room.changes import Audience, Change
from room.errors import Code, TribuneError, invalid
from room.events import load_event, load_invitation
from room.permissions import Action, audience_of, is_staff, require
from room.ratelimit import TokenBucket
from room.records import Invitation, Person, now
from room.seats import holder
from room.store import Store
from signaling.auth import Tokens
from signaling.config import Config
from signaling.schemas.room import ConnectAuth, validate
from signaling.wire import Server

log = logging.getLogger(__name__)

ROOM = "/room"
MANAGE = "/manage"
SCREEN = "/screen"


def all_room(event_id: str) -> str:
    return f"ev:{event_id}"


def staff_room(event_id: str) -> str:
    return f"ev:{event_id}:staff"


def audience_room(event_id: str) -> str:
    return f"ev:{event_id}:aud"


# Where each audience's payload goes: (namespace, room-name function)
TARGETS: dict[Audience, list[tuple[str, Callable[[str], str]]]] = {
    Audience.ALL: [(ROOM, all_room), (MANAGE, all_room), (SCREEN, all_room)],
    Audience.STAFF: [(ROOM, staff_room), (MANAGE, all_room)],
    Audience.AUDIENCE: [(ROOM, audience_room)],
    Audience.SCREEN: [(SCREEN, all_room)],
}


@dataclass
class Session:
    """What this node knows about one of its connections. Roles are read fresh from the
    store on every event, so a promotion made on another node applies at once."""

    event_id: str
    identity: str
    namespace: str
    bucket: TokenBucket
    fallback: Person | None = None
    """For /manage and /screen: the person as the link names him, if not in the roster."""


@dataclass
class Ctx:
    hub: Hub
    sid: str
    session: Session
    person: Person

    @property
    def event_id(self) -> str:
        return self.session.event_id

    @property
    def store(self) -> Store:
        return self.hub.store


Handler = Callable[[Ctx, Any], Awaitable[dict[str, Any] | None]]


@dataclass
class Route:
    schema: type[Any]
    action: Action
    handler: Handler


@dataclass
class Namespace:
    """The routes of one Socket.IO namespace and who may connect to it."""

    name: str
    admit_action: Action
    takes_seat: bool
    routes: dict[str, Route] = field(default_factory=dict)
    on_connect: list[Callable[[Ctx], Awaitable[None]]] = field(default_factory=list)
    """Run after a connection is accepted (send the page its snapshot)."""

    def route(self, event: str, schema: type[Any], action: Action) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            if event in self.routes:
                raise ValueError(f"{self.name} {event} registered twice")
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
        self.namespaces = {
            ROOM: Namespace(ROOM, Action.JOIN, takes_seat=True),
            MANAGE: Namespace(MANAGE, Action.OPEN_MANAGER, takes_seat=False),
            SCREEN: Namespace(SCREEN, Action.VIEW_SCREEN, takes_seat=False),
        }
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._due: dict[Hashable, asyncio.TimerHandle] = {}
        self._pending: set[asyncio.Future[None]] = set()
        self.on_forget: list[Callable[[str, str], Awaitable[None]]] = []
        """Hooks run when an identity leaves an event for good (media takes it off stage)."""
        self.on_role_change: list[Callable[[str, Person], Awaitable[None]]] = []
        """Hooks run after a promotion or demotion (a demoted presenter leaves the stage)."""
        self.on_leave: list[Callable[[Session, str], Awaitable[None]]] = []
        """Hooks run when a seat-taking connection closes (its session record ends)."""
        self.on_event_end: list[Callable[[str], Awaitable[None]]] = []
        """Hooks run once an event has ended (thank-you mails, certificates)."""
        for name in self.namespaces:
            sio.on("connect", self._connect_handler(name), namespace=name)
            sio.on("disconnect", self._disconnect, namespace=name)
            sio.on("*", self._dispatch_handler(name), namespace=name)

    @property
    def room(self) -> Namespace:
        return self.namespaces[ROOM]

    @property
    def manage(self) -> Namespace:
        return self.namespaces[MANAGE]

    @property
    def screen(self) -> Namespace:
        return self.namespaces[SCREEN]

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> None:
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._every(self.config.renew_every, self._renew)),
            asyncio.create_task(self._every(self.config.sweep_every, self._sweep)),
        ]

    async def stop(self) -> None:
        self._stopping = True
        for t in self._tasks:
            await tasks.stop(t)
        self._tasks = []
        for handle in self._due.values():
            handle.cancel()
        self._due.clear()

    async def _every(self, seconds: float, fn: Callable[[], Awaitable[None]]) -> None:
        while not self._stopping:
            await asyncio.sleep(seconds)
            try:
                await fn()
            except Exception:
                log.exception("periodic task %s failed", fn.__name__)

    async def _renew(self) -> None:
        holders = sorted(
            {
                holder(s.event_id, s.identity)
                for s in self.sessions.values()
                if self.namespaces[s.namespace].takes_seat
            }
        )
        for i in range(0, len(holders), 1000):
            await presence.renew(self.store, holders[i : i + 1000], self.config.lease_ttl)

    async def _sweep(self) -> None:
        await self.fan_out(await presence.expire(self.store))

    def background(self, coro: Awaitable[None]) -> None:
        """Run `coro` soon, keeping a reference so it is not collected mid-flight."""
        task = asyncio.ensure_future(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    # -- fan-out -----------------------------------------------------------------
    async def fan_out(self, items: Iterable[Change]) -> None:
        for change in items:
            if change.name.startswith("roster."):
                self._count_soon(change.event_id)
            if change.name == "roster.left":
                ident = change.payloads[Audience.STAFF]["person"]["person"]
                for hook in self.on_forget:
                    await hook(change.event_id, ident)
            for audience, payload in change.payloads.items():
                for namespace, room_of in TARGETS[audience]:
                    await self.sio.emit(
                        change.name, payload, room=room_of(change.event_id), namespace=namespace
                    )

    async def emit_to(self, sid: str, name: str, payload: Any, namespace: str = ROOM) -> None:
        await self.sio.emit(name, payload, to=sid, namespace=namespace)

    def coalesce(self, key: Hashable, delay: float, fn: Callable[[], Awaitable[None]]) -> None:
        """Run `fn` once, `delay` seconds after the first call for `key`; calls in between
        fold into that one. Pending runs are cancelled when the hub stops."""
        if key in self._due:
            return

        def fire() -> None:
            self._due.pop(key, None)
            self.background(fn())

        self._due[key] = asyncio.get_running_loop().call_later(delay, fire)

    def _count_soon(self, event_id: str) -> None:
        """Coalesce the head-count: one emit per event per `count_every` seconds, so
        1,000 joins cost about 1,000 small emits per second, not a million."""
        self.coalesce(
            ("roster.count", event_id), self.config.count_every, lambda: self._emit_count(event_id)
        )

    async def _emit_count(self, event_id: str) -> None:
        count = await presence.roster_count(self.store, event_id)
        rev = await changes.current_rev(self.store, event_id)
        for namespace in (ROOM, MANAGE):
            await self.sio.emit(
                "roster.count",
                {"count": count, "rev": rev},
                room=all_room(event_id),
                namespace=namespace,
            )

    async def set_rooms(self, sid: str, event_id: str, staff: bool) -> None:
        """Put a /room connection in the event's room and its audience's room."""
        await self.sio.enter_room(sid, all_room(event_id), namespace=ROOM)
        mine, other = (staff_room, audience_room) if staff else (audience_room, staff_room)
        await self.sio.enter_room(sid, mine(event_id), namespace=ROOM)
        await self.sio.leave_room(sid, other(event_id), namespace=ROOM)

    # -- connect / disconnect ----------------------------------------------------------
    def _connect_handler(
        self, namespace: str
    ) -> Callable[[str, dict[str, Any], Any], Awaitable[None]]:
        async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
            try:
                await self._connect(self.namespaces[namespace], sid, auth)
            except TribuneError as err:
                # Sent as the CONNECT_ERROR packet's data: the JS client exposes
                # `message` as err.message and `data` as err.data.
                refused = Refused()
                refused.error_args = {**err.to_wire(), "data": err.to_wire()}
                raise refused from None

        return connect

    async def _invitation(self, a: ConnectAuth) -> Invitation:
        claims = self.tokens.verify(a.token)
        try:
            inv = await load_invitation(self.store, claims.event_id, claims.invitation)
        except TribuneError:
            await load_event(self.store, claims.event_id)  # a deleted event: not_found
            raise TribuneError(Code.UNAUTHORIZED, "this link was withdrawn") from None
        if inv.gen != claims.gen:
            raise TribuneError(Code.UNAUTHORIZED, "this link was re-issued; use the new one")
        return inv

    async def _connect(self, ns: Namespace, sid: str, auth: Any) -> None:
        a = validate(auth, ConnectAuth)
        inv = await self._invitation(a)
        require(inv.role, ns.admit_action)
        bucket = TokenBucket(self.config.rate_per_second, self.config.rate_burst)
        if not ns.takes_seat:
            event = await load_event(self.store, inv.event_id)
            identity = presence.identity_of(inv, a.device)
            lifecycle.require_open(event, inv.role)
            fallback = Person(
                identity=identity,
                name=inv.name or a.name or "Screen",
                role=inv.role,
                base_role=inv.role,
                joined_at=now(),
            )
            session = Session(event.id, identity, ns.name, bucket, fallback)
            self.sessions[sid] = session
            await self.sio.enter_room(sid, all_room(event.id), namespace=ns.name)
            self.background(self._after_connect(ns, sid, []))
            return
        adm = await presence.admit(self.store, inv, a.device, a.name, self.config.lease_ttl)
        person = adm.person
        event_id = adm.event.id
        old = await presence.bind_connection(self.store, event_id, person.identity, sid)
        self.sessions[sid] = Session(event_id, person.identity, ns.name, bucket)
        await self.set_rooms(sid, event_id, is_staff(person.role))
        if old is not None:
            await self.emit_to(
                old,
                "replaced",
                {"code": "replaced", "message": "you joined from another window or device"},
            )
            await self.sio.disconnect(old, namespace=ROOM)
        # The CONNECT packet is queued after this handler returns; snapshot after it.
        self.background(self._after_connect(ns, sid, adm.changes))

    async def _after_connect(self, ns: Namespace, sid: str, items: list[Change]) -> None:
        await asyncio.sleep(0)
        try:
            session = self.sessions.get(sid)
            if session is None:
                return
            person = await self.person_of(session)
            if person is not None:
                ctx = Ctx(self, sid, session, person)
                for hook in ns.on_connect:
                    await hook(ctx)
            await self.fan_out(items)
        except Exception:
            log.exception("after-connect failed for %s", sid)

    async def person_of(self, session: Session) -> Person | None:
        person = await presence.get_person(self.store, session.event_id, session.identity)
        return person if person is not None else session.fallback

    async def _disconnect(self, sid: str, reason: Any = None) -> None:
        session = self.sessions.pop(sid, None)
        if session is None or not self.namespaces[session.namespace].takes_seat:
            return
        try:
            await self.fan_out(
                await presence.disconnected(
                    self.store, session.event_id, session.identity, sid, self.config.grace
                )
            )
            for hook in self.on_leave:
                await hook(session, sid)
        except Exception:
            log.exception("disconnect bookkeeping failed for %s", sid)

    # -- dispatch ------------------------------------------------------------------
    def _dispatch_handler(self, namespace: str) -> Callable[..., Awaitable[dict[str, Any]]]:
        async def dispatch(event: Any, sid: str, *args: Any) -> dict[str, Any]:
            return await self._dispatch(self.namespaces[namespace], event, sid, args)

        return dispatch

    async def _dispatch(
        self, ns: Namespace, event: Any, sid: str, args: tuple[Any, ...]
    ) -> dict[str, Any]:
        session = self.sessions.get(sid)
        if session is None:
            return fail(TribuneError(Code.UNAUTHORIZED, "not joined"))
        if not session.bucket.take():
            return fail(TribuneError(Code.RATE_LIMITED, "too many requests; slow down"))
        route = ns.routes.get(event) if isinstance(event, str) else None
        if route is None:
            return fail(invalid(f"unknown event {str(event)[:64]!r}", "event"))
        try:
            if len(args) > 1:
                raise invalid("send one payload object", "payload")
            person = await self.person_of(session)
            if person is None:
                raise TribuneError(Code.UNAUTHORIZED, "you are no longer in this event")
            require(person.role, route.action)
            payload = validate(args[0] if args else None, route.schema)
            result = await route.handler(Ctx(self, sid, session, person), payload)
            return ok(**(result or {}))
        except TribuneError as err:
            return fail(err)
        except Exception:
            log.exception("handler %s %s failed", ns.name, event)
            return fail(TribuneError(Code.INTERNAL, "internal error"))

    async def replay(self, ctx: Ctx, rev: int) -> dict[str, Any]:
        """What a client missed since `rev`: the changes for its audience, or None if trimmed."""
        current, missed = await changes.since(self.store, ctx.event_id, rev)
        if missed is None:
            return {"rev": current, "changes": None}
        audience = audience_of(ctx.person.role)
        out = []
        for c in missed:
            data = c.payload_for(audience)
            if data is not None:
                out.append({"event": c.name, "data": data})
        return {"rev": current, "changes": out}
