"""Routing one client event to its handler: the session, the rate limit, the permission
table, the payload's schema, then the handler; every outcome acknowledged as
`{ok: true, ...}` or `{ok: false, error: {code, message}}` (docs/protocol.md)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from moderation.outcome import Outcome
from room.errors import Code, TribuneError, invalid
from room.permissions import Action, require
from room.presence import revocation, roster
from room.ratelimit import TokenBucket
from room.records import Person
from room.store import Store
from signaling.outage import is_store_outage, unavailable
from signaling.schemas.validation import validate
from signaling.socket.fanout import Fanout
from signaling.socket.wire import RESERVED

log = logging.getLogger(__name__)


@dataclass
class Session:
    """What this node knows about one of its connections. Roles are read fresh from the
    store on every event, so a promotion made on another node applies at once."""

    event_id: str
    identity: str
    namespace: str
    bucket: TokenBucket
    stand_in: Person | None = None
    """For /manage and /screen: the person as the link names him, if not in the roster."""
    holder: revocation.Holder | None = None
    """What the connection was admitted as, re-checked before each action."""
    seen: int = 0
    """The event's revocation counter when the holder was last checked."""


async def person_of(store: Store, session: Session) -> Person | None:
    """Who sends on this connection now: his roster entry, else the link's stand-in."""
    person = await roster.get_person(store, session.event_id, session.identity)
    return person if person is not None else session.stand_in


@dataclass
class Ctx:
    """One event being handled: the connection, its sender, and where results go."""

    fanout: Fanout
    sid: str
    session: Session
    person: Person

    @property
    def event_id(self) -> str:
        return self.session.event_id

    @property
    def store(self) -> Store:
        return self.fanout.store


Ack = msgspec.Struct | Mapping[str, Any] | None
"""What a handler returns: the ack's fields, as a Struct (a map only where the domain still
hands one: `Outcome.ack`'s, and `stats`, whose Struct belongs in the audience schemas)."""

Handler = Callable[[Ctx, Any], Awaitable[Ack]]

P = TypeVar("P")


def delivered(
    call: Callable[[Ctx, P], Awaitable[Outcome]],
) -> Callable[[Ctx, P], Awaitable[Ack]]:
    """A handler from its one domain call: the `Outcome` is delivered, its ack returned."""

    async def handle(ctx: Ctx, payload: P) -> Ack:
        return await ctx.fanout.outcome(ctx.event_id, await call(ctx, payload))

    return handle


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
            self.add(event, schema, action, fn)
            return fn

        return register

    def add(self, event: str, schema: type[Any], action: Action, handler: Handler) -> None:
        if event in self.routes:
            raise ValueError(f"{self.name} {event} registered twice")
        if event in RESERVED:
            raise ValueError(f"{event!r} is reserved by Socket.IO")
        self.routes[event] = Route(schema, action, handler)


Reply = dict[str, Any]
"""An ack as the Socket.IO packer takes it: `ok` first, then the fields of the handler's
result, all plain maps and lists (the msgspec/msgpack boundary)."""


def ok(result: Ack = None) -> Reply:
    return {"ok": True, **msgspec.to_builtins(result or {})}


def fail(err: TribuneError) -> Reply:
    return {"ok": False, "error": err.to_wire()}


async def dispatch(
    fanout: Fanout,
    ns: Namespace,
    session: Session | None,
    event: Any,
    sid: str,
    args: tuple[Any, ...],
) -> Reply:
    """Handle one client event and return its ack; nothing raises out of here. A store
    outage is acked `unavailable` (logged once per outage by the fanout's `OutageLog`)."""
    try:
        reply = await _dispatch(fanout, ns, session, event, sid, args)
    except TribuneError as err:
        reply = fail(err)
    except Exception as exc:
        if is_store_outage(exc):
            fanout.outage.failed(exc)
            reply = fail(unavailable())
        else:
            log.exception("handler %s %s failed", ns.name, event)
            reply = fail(TribuneError(Code.INTERNAL, "internal error"))
    if reply["ok"]:  # every route reads the sender from the store first
        fanout.outage.answered()
    else:
        fanout.metrics.refused(reply["error"]["code"])
    return reply


async def _dispatch(
    fanout: Fanout,
    ns: Namespace,
    session: Session | None,
    event: Any,
    sid: str,
    args: tuple[Any, ...],
) -> Reply:
    if session is None:
        return fail(TribuneError(Code.UNAUTHORIZED, "not joined"))
    if not session.bucket.take():
        return fail(TribuneError(Code.RATE_LIMITED, "too many requests; slow down"))
    if session.holder is not None:
        try:
            session.seen = await revocation.recheck(
                fanout.store, session.event_id, session.holder, session.seen
            )
        except TribuneError as err:
            fanout.close_soon(sid, ns.name, err)
            return fail(err)
    route = ns.routes.get(event) if isinstance(event, str) else None
    if route is None:
        return fail(invalid(f"unknown event {str(event)[:64]!r}", "event"))
    if len(args) > 1:
        raise invalid("send one payload object", "payload")
    person = await person_of(fanout.store, session)
    if person is None:
        raise TribuneError(Code.UNAUTHORIZED, "you are no longer in this event")
    require(person.role, route.action)
    payload = validate(args[0] if args else None, route.schema)
    return ok(await route.handler(Ctx(fanout, sid, session, person), payload))
