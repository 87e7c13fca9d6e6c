"""Replay sessions over Socket.IO: the `/replay` namespace.

The replay page connects when it starts and the connection's life is the session: a
session record of format `replay` (`room.audience.sessions`, `SessionKind.REPLAY`) opens
on connect and closes on disconnect. No seat is taken and nothing is sent either way;
statistics then split live and replay (`room.audience.stats`).

Each connection also holds a lease of its own (`replay.viewer_lease`, no seat), renewed by
the hub with the seats: when its node dies, the survivors' sweep lets it lapse and the
session closes as of the dead node's last renewal, like a live one (`on_lapse`).

The connect takes the same links as the data route (`Action.JOIN`, checked with their
generation and bans), and only for an event that has a replay (`room.replay`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from socketio.exceptions import ConnectionRefusedError as Refused

from room import replay, seats
from room.audience import sessions
from room.audience.sessions import SessionKind
from room.errors import TribuneError
from room.events import load_event
from room.permissions import Action, require
from room.presence import leases, revocation
from signaling.auth import link_invitation
from signaling.http.common import client_ip
from signaling.outage import is_store_outage, unavailable
from signaling.schemas.replay import ReplayAuth
from signaling.schemas.validation import validate
from signaling.socket.hub import Hub

REPLAY = "/replay"


class Replays:
    """This node's replay connections: connection id -> event id."""

    def __init__(self, hub: Hub, country: Callable[[str], str]) -> None:
        self.hub = hub
        self.store = hub.store
        self.country = country
        self.open: dict[str, str] = {}

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            try:
                await self._connect(sid, environ, auth)
            except Exception as exc:
                if not is_store_outage(exc):
                    raise
                self.hub.fanout.outage.failed(exc)
                raise unavailable() from None
        except TribuneError as err:
            self.hub.fanout.metrics.refused(err.code.value)
            refused = Refused()
            refused.error_args = {**err.to_wire(), "data": err.to_wire()}
            raise refused from None

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        if self.hub.draining:
            raise unavailable()
        a = validate(auth, ReplayAuth)
        inv = await link_invitation(self.store, self.hub.tokens, a.token, a.event or None)
        require(inv.role, Action.JOIN)
        issued = None if a.identity is None else self.hub.tokens.verify_identity(a.identity, inv)
        identity = replay.viewer_identity(inv, issued, a.device)
        await revocation.require_current(
            self.store, inv.event_id, revocation.holder(inv, identity, REPLAY)
        )
        event = await load_event(self.store, inv.event_id)
        replay.require_replay(event)
        request = environ.get("aiohttp.request")
        ip = client_ip(request) if isinstance(request, web.Request) else ""
        language = sessions.primary_language(str(environ.get("HTTP_ACCEPT_LANGUAGE", "")))
        await sessions.open_session(
            self.store,
            event.id,
            sid,
            identity,
            name=inv.name,
            email=inv.email,
            ip=ip,
            language=language,
            country=self.country(ip),
            format=SessionKind.REPLAY,
            role=inv.role,
        )
        self.open[sid] = event.id
        lease = [(event.id, replay.viewer_lease(sid))]
        await leases.renew(self.store, lease, self.hub.config.lease_ttl)

    def held(self) -> list[tuple[str, str]]:
        """The leases of this node's replay connections (the hub renews them)."""
        return [(event_id, replay.viewer_lease(sid)) for sid, event_id in self.open.items()]

    async def disconnect(self, sid: str, reason: Any = None) -> None:
        event_id = self.open.pop(sid, None)
        if event_id is None:
            return
        try:
            await sessions.close_connection(self.store, event_id, sid)
            await self.store.holder_release(seats.holder(event_id, replay.viewer_lease(sid)))
        except Exception as exc:
            self.hub.fanout.outage.report(exc, "closing the replay session of %s failed", sid)

    async def lapsed(self, event_id: str, identity: str, alive_at: float) -> None:
        """A replay connection's lease lapsed: its node died (a disconnect releases it), so
        its session closes when the connection was last known alive."""
        sid = replay.viewer_of(identity)
        if sid is None:
            return
        self.open.pop(sid, None)
        try:
            await sessions.close_connection(self.store, event_id, sid, alive_at)
        except Exception as exc:
            self.hub.fanout.outage.report(exc, "closing the replay session of %s failed", sid)


def register(hub: Hub, country: Callable[[str], str]) -> Replays:
    replays = Replays(hub, country)
    hub.sio.declare(REPLAY, ())  # the page sends nothing: every client event is dropped
    hub.sio.on("connect", replays.connect, namespace=REPLAY)
    hub.sio.on("disconnect", replays.disconnect, namespace=REPLAY)
    hub.leased.append(replays.held)
    hub.on_lapse.append(replays.lapsed)
    return replays
