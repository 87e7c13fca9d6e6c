"""The Socket.IO hub: accepting connections into the three namespaces, closing them, and
keeping the leases of connected people renewed and swept.

`/room` (attendees and stage; joining takes a seat), `/manage` (staff manager pages) and
`/screen` (moderator second screens) share it; the last two take no seat. Handler
modules add routes to a namespace; `dispatch` runs them, `fanout` delivers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from socketio.exceptions import ConnectionRefusedError as Refused

from room import lifecycle, tasks
from room.changes import Change
from room.errors import Code, TribuneError
from room.events import load_event
from room.permissions import Action, require
from room.presence import admission, identities, leases, revocation, roster
from room.ratelimit import TokenBucket
from room.records import Invitation, Person
from room.store import Store
from signaling.auth import link_invitation
from signaling.config import Config
from signaling.http.common import client_ip
from signaling.outage import is_store_outage, unavailable
from signaling.schemas.room import ConnectAuth
from signaling.schemas.validation import validate
from signaling.socket.dispatch import Ctx, Namespace, Reply, Session, dispatch, person_of
from signaling.socket.fanout import MANAGE, ROOM, SCREEN, Fanout, all_room
from signaling.socket.wire import Server
from signaling.tokens import Tokens

log = logging.getLogger(__name__)

Hook = Callable[..., Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Issued:
    """Where a /room connection comes from, and the identity token issued to it, if any."""

    address: str
    token: str = ""


async def run_hooks(what: str, hooks: Iterable[Hook], *args: Any) -> None:
    """Run every hook in turn: one that fails is logged (once) and never stops the others,
    nor the delivery of whatever the caller does next."""
    for hook in list(hooks):
        try:
            await hook(*args)
        except Exception:
            log.exception("%s hook %s failed", what, getattr(hook, "__qualname__", hook))


class Hub:
    """This node's connections, its namespaces' routes, and the hooks other parts hang on."""

    def __init__(self, sio: Server, store: Store, tokens: Tokens, config: Config) -> None:
        self.sio = sio
        self.store = store
        self.tokens = tokens
        self.config = config
        self._pending: set[asyncio.Future[None]] = set()
        self.fanout = Fanout(sio, store, config, self.background, self._forgotten)
        self.sessions: dict[str, Session] = {}
        self.namespaces = {
            ROOM: Namespace(ROOM, Action.JOIN, takes_seat=True),
            MANAGE: Namespace(MANAGE, Action.OPEN_MANAGER, takes_seat=False),
            SCREEN: Namespace(SCREEN, Action.VIEW_SCREEN, takes_seat=False),
        }
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.outage = leases.Outage(config.lease_ttl)
        """Whether the store is reachable, and so whether sweeping may expire leases."""
        self.on_forget: list[Callable[[str, str], Awaitable[None]]] = []
        """Hooks run when an identity leaves an event for good (media takes it off stage)."""
        self.on_lapse: list[Callable[[str, str, float], Awaitable[None]]] = []
        """Hooks run for each identity whose lease lapsed (its grace ended, or its node died),
        before `on_forget`, with the time its connection was last known alive."""
        self.on_role_change: list[Callable[[str, Person], Awaitable[None]]] = []
        """Hooks run after a promotion or demotion (a demoted presenter leaves the stage)."""
        self.on_leave: list[Callable[[Session, str], Awaitable[None]]] = []
        """Hooks run when a seat-taking connection closes (its session record ends)."""
        self.on_event_live: list[Callable[[str], Awaitable[None]]] = []
        """Hooks run once an event has gone live (auto-recording)."""
        self.on_event_end: list[Callable[[str], Awaitable[None]]] = []
        """Hooks run once an event has ended (thank-you mails, certificates)."""
        self.on_drain: list[Callable[[], Awaitable[None]]] = []
        """Hooks run when this node starts draining, before its sockets are closed (media
        hands its events over to another node)."""
        self.draining = False
        """Set by `signaling.drain`: new connections are refused `unavailable`."""
        self.leased: list[Callable[[], Iterable[tuple[str, str]]]] = []
        """Other (event id, lease identity) pairs this node renews with the seats: replay
        connections (`signaling.socket.replay`); their lapse runs `on_lapse` too."""
        self.on_replay: list[Callable[[str], Awaitable[None]]] = []
        """Hooks run when an ended event became on demand after its end (a recording stopped
        later): the replay mail. At the end itself `on_event_end` runs."""
        for name in self.namespaces:
            sio.on("connect", self._connect_handler(name), namespace=name)
            sio.on("disconnect", self._disconnect, namespace=name)
            sio.on("*", self._dispatch_handler(name), namespace=name)
            sio.declare(name, self.namespaces[name].routes)

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
        self.fanout.stop()

    def background(self, coro: Awaitable[None]) -> None:
        """Run `coro` soon, keeping a reference so it is not collected mid-flight. A store
        outage it meets is logged once per outage; any other failure with its traceback."""
        task = asyncio.ensure_future(self._guarded(coro))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _guarded(self, coro: Awaitable[None]) -> None:
        try:
            await coro
        except Exception as exc:
            self.fanout.outage.report(exc, "background task %r failed", coro)

    async def _every(self, seconds: float, fn: Callable[[], Awaitable[None]]) -> None:
        while not self._stopping:
            await asyncio.sleep(seconds)
            try:
                await fn()
            except Exception as exc:
                self.fanout.outage.report(exc, "periodic task %s failed", fn.__name__)

    async def _renew(self) -> None:
        connected = [
            (s.event_id, s.identity)
            for s in self.sessions.values()
            if self.namespaces[s.namespace].takes_seat
        ]
        connected += [pair for held in self.leased for pair in held()]
        ttl = self.config.lease_ttl
        started = time.monotonic()
        if not await self._reaching(lambda: leases.renew(self.store, connected, ttl)):
            return
        self.fanout.metrics.store_seconds.observe(time.monotonic() - started)
        self.fanout.outage.answered()
        if self.outage.answered():
            log.info(
                "the store answers again: leases renewed, sweeping resumes in %.0f s",
                self.config.lease_ttl,
            )

    async def _sweep(self) -> None:
        """Expire lapsed leases, unless the store is (or just was) unreachable: while it is
        down, probe it and renew at once when it answers (the catch-up)."""
        if self.outage.down:
            if await self.store.ping():
                await self._renew()
            return
        if not self.outage.may_sweep():
            return
        expired: list[Change] = []
        lapsed: list[tuple[str, str]] = []
        renewed_at = 0.0

        async def expire() -> None:
            nonlocal renewed_at
            changes, people = await leases.expire_all(self.store)
            expired.extend(changes)
            lapsed.extend(people)
            # A lease lapses one lease period after its last renewal: that is when a
            # connection whose node died was last known alive.
            renewed_at = await self.store.now() - self.config.lease_ttl

        if await self._reaching(expire):
            for event_id, identity in lapsed:
                await run_hooks("lapse", self.on_lapse, event_id, identity, renewed_at)
            await self.fanout.changes(expired)

    async def _reaching(self, call: Callable[[], Awaitable[None]], retry: bool = True) -> bool:
        """Run a lease call; False when the store is unreachable (the outage is noted, no
        traceback). A failure while the store answers is retried once (a pooled
        connection the store closed when it restarted), then raised."""
        try:
            await call()
            return True
        except Exception:
            if not await self.store.ping():
                self._store_failed()
                return False
            if not retry:
                raise
        return await self._reaching(call, retry=False)

    def _store_failed(self) -> None:
        if self.outage.failed():
            log.warning("the store is unreachable: leases are kept and nobody is swept")

    async def _forgotten(self, event_id: str, identity: str) -> None:
        await run_hooks("forget", self.on_forget, event_id, identity)

    async def role_changed(self, event_id: str, person: Person) -> None:
        await run_hooks("role change", self.on_role_change, event_id, person)

    async def event_live(self, event_id: str) -> None:
        await run_hooks("event live", self.on_event_live, event_id)

    async def event_ended(self, event_id: str) -> None:
        await run_hooks("event end", self.on_event_end, event_id)

    async def replay_offered(self, event_id: str) -> None:
        await run_hooks("replay", self.on_replay, event_id)

    async def evict(self, eviction: leases.Eviction, forget: bool) -> None:
        """Tell a /room connection why it is closed, then close it. `forget`: drop its
        session first, so closing it starts no grace period (the room already let go);
        what the connection held (its media, its session record) still ends with it, here
        or, for a connection on another node, in that node's disconnect."""
        await self.fanout.emit_to(eviction.sid, eviction.event, eviction.notice())
        session = self.sessions.pop(eviction.sid, None) if forget else None
        await self.sio.disconnect(eviction.sid, namespace=ROOM)
        if session is not None:
            await run_hooks("leave", self.on_leave, session, eviction.sid)

    async def revoke(self, event_id: str) -> None:
        """After a revocation in the event: close every connection of it, on any node, whose
        link no longer holds, telling it why (`revoked {code: unauthorized | banned}`)."""
        for sid, who, err in await revocation.sweep(self.store, event_id):
            await self.fanout.close(sid, who.namespace, err)

    async def _hold(self, sid: str, who: revocation.Holder, seen: int) -> None:
        """Remember what the connection was admitted as, here and for every node's sweep."""
        session = self.sessions[sid]
        session.holder, session.seen = who, seen
        await revocation.register(self.store, session.event_id, sid, who)

    # -- connect / disconnect ----------------------------------------------------------
    def _connect_handler(
        self, namespace: str
    ) -> Callable[[str, dict[str, Any], Any], Awaitable[None]]:
        # `environ` is python-socketio's request environ, free-form by its contract.
        async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
            try:
                if self.draining:
                    raise TribuneError(Code.UNAVAILABLE, "this node is draining")
                try:
                    await self._connect(self.namespaces[namespace], sid, auth, environ)
                except Exception as exc:
                    if not is_store_outage(exc):
                        raise
                    self.fanout.outage.failed(exc)
                    self.sessions.pop(sid, None)
                    raise unavailable() from None
            except TribuneError as err:
                self.fanout.metrics.refused(err.code.value)
                # Sent as the CONNECT_ERROR packet's data: the JS client exposes
                # `message` as err.message and `data` as err.data.
                refused = Refused()
                refused.error_args = {**err.to_wire(), "data": err.to_wire()}
                raise refused from None

        return connect

    async def _connect(self, ns: Namespace, sid: str, auth: Any, environ: dict[str, Any]) -> None:
        if sid in self.sessions:  # one socket holds at most one identity
            raise TribuneError(Code.INVALID, "this connection is already joined")
        a = validate(auth, ConnectAuth)
        inv = await link_invitation(self.store, self.tokens, a.token)
        require(inv.role, ns.admit_action)
        seen = await revocation.counter(self.store, inv.event_id)  # read before the checks
        bucket = TokenBucket(self.config.rate_per_second, self.config.rate_burst)
        if not ns.takes_seat:
            event = await load_event(self.store, inv.event_id)
            lifecycle.require_open(event, inv.role)
            person = roster.stand_in(inv, a.device, a.name)
            who = revocation.holder(inv, person.identity, ns.name)
            await revocation.require_current(self.store, event.id, who)  # bans, too
            self.sessions[sid] = Session(event.id, person.identity, ns.name, bucket, person)
            await self._hold(sid, who, seen)
            await self.sio.enter_room(sid, all_room(event.id), namespace=ns.name)
            self.background(self._after_connect(ns, sid, []))
            return
        identity, issued = await self._identity(inv, a, environ)
        adm = await admission.admit(
            self.store, inv, a.device, a.name, self.config.lease_ttl, identity, issued.address
        )
        person, event_id = adm.person, adm.event.id
        replaced = await leases.connect(self.store, event_id, person.identity, sid)
        self.sessions[sid] = Session(event_id, person.identity, ns.name, bucket)
        await self._hold(sid, revocation.holder(inv, person.identity, ns.name), seen)
        await self.fanout.set_rooms(sid, event_id, person.role)
        if replaced is not None:
            await self.evict(replaced, forget=False)
        # The CONNECT packet is queued after this handler returns; snapshot after it.
        self.background(self._after_connect(ns, sid, adm.changes, issued.token))

    async def _identity(
        self, inv: Invitation, a: ConnectAuth, environ: dict[str, Any]
    ) -> tuple[str | None, Issued]:
        """The identity a /room connection takes: a personal link's own (None: the room
        knows it), the one a shared link's identity token names, or a new one issued by
        the server (`identities.issue`) with its token for the page to keep."""
        request = environ.get("aiohttp.request")
        address = client_ip(request) if isinstance(request, web.Request) else ""
        if not inv.shared:
            return None, Issued(address)
        if a.identity is not None:
            return self.tokens.verify_identity(a.identity, inv), Issued(address)
        identity = await identities.issue(self.store, inv, address, self.config.identity_rate)
        token = self.tokens.sign_identity(inv.event_id, inv.id, identity)
        return identity, Issued(address, token)

    async def _after_connect(
        self, ns: Namespace, sid: str, items: list[Change], issued: str = ""
    ) -> None:
        await asyncio.sleep(0)
        try:
            session = self.sessions.get(sid)
            if session is None:
                return
            if issued:
                await self.fanout.emit_to(
                    sid, "identity.issued", {"token": issued, "event": session.event_id}
                )
            person = await person_of(self.store, session)
            if person is not None:
                ctx = Ctx(self.fanout, sid, session, person)
                for hook in ns.on_connect:
                    await hook(ctx)
            await self.fanout.changes(items)
        except Exception as exc:
            self.fanout.outage.report(exc, "after-connect failed for %s", sid)

    async def _disconnect(self, sid: str, reason: Any = None) -> None:
        session = self.sessions.pop(sid, None)
        if session is not None and session.holder is not None:
            try:
                await revocation.unregister(self.store, session.event_id, sid)
            except Exception as exc:
                self.fanout.outage.report(exc, "unregistering %s failed", sid)
        if session is None or not self.namespaces[session.namespace].takes_seat:
            return
        try:
            await self.fanout.changes(
                await leases.disconnected(
                    self.store, session.event_id, session.identity, sid, self.config.grace
                )
            )
        except Exception as exc:
            self.fanout.outage.report(exc, "disconnect bookkeeping failed for %s", sid)
        await run_hooks("leave", self.on_leave, session, sid)

    # -- dispatch ------------------------------------------------------------------
    def _dispatch_handler(self, namespace: str) -> Callable[..., Awaitable[Reply]]:
        ns = self.namespaces[namespace]

        async def handle(event: Any, sid: str, *args: Any) -> Reply:
            return await dispatch(self.fanout, ns, self.sessions.get(sid), event, sid, args)

        return handle
