"""The audience on the socket: session records of `/room` connections, live statistics on
`/manage`, and the after-event mail, hooked into the hub.

`setup(app)` adds a cleanup context that, once the hub exists, opens the GeoIP
database and the outbox (with the mail transport the configuration names),
hooks the session recorder into the hub (`/room` connects, `on_leave`,
`on_forget`, `on_event_end`), registers `stats.get` / `stats.watch` on
`/manage`, and runs the mail worker. Rules live in `room.audience`; who may
do what in `room.permissions`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from room.audience import access, follow_up, sessions
from room.audience.outbox import Outbox
from room.audience.stats import Statistics, event_stats
from room.errors import TribuneError
from room.events import load_event, load_invitation
from room.permissions import Action
from room.records import Event, Invitation, now
from signaling.context import KEY, Tribune
from signaling.geoip import GeoIP
from signaling.http.common import client_ip
from signaling.schemas.audience import StatsQuery
from signaling.schemas.validation import Empty
from signaling.smtp import transport_for
from signaling.socket.dispatch import Ctx, Session
from signaling.socket.fanout import MANAGE, ROOM, stats_room, wire
from signaling.socket.hub import Hub
from signaling.socket.replay import register as register_replays

log = logging.getLogger(__name__)

STATS_EVERY = 1.0
"""Live statistics are pushed at most once per this many seconds per event (more when slow)."""


@dataclass
class Audience:
    """What the audience side keeps while the server runs."""

    outbox: Outbox | None = None
    geo: GeoIP | None = None
    stats_every: float = STATS_EVERY
    _t: Tribune | None = None

    @property
    def t(self) -> Tribune:
        assert self._t is not None, "the audience side is not started"
        return self._t

    @property
    def hub(self) -> Hub:
        assert self.t.hub is not None
        return self.t.hub

    @property
    def mail(self) -> Outbox:
        assert self.outbox is not None
        return self.outbox

    async def start(self, t: Tribune) -> None:
        self._t = t
        config = t.config
        if config.geoip_path:
            self.geo = GeoIP(config.geoip_path)
        self.outbox = Outbox(
            t.store,
            transport_for(config.smtp_url, config.data_dir),
            config.mail_from,
            attach=follow_up.certificate_attacher(t.store),
        )
        hub = self.hub
        hub.room.on_connect.append(self.joined)
        hub.on_leave.append(self.left)
        hub.on_lapse.append(self.lapsed)
        hub.on_forget.append(self.forgot)
        hub.on_event_end.append(self.ended)
        hub.on_replay.append(self.replay_offered)
        self._register_manage(hub)
        register_replays(hub, self.country)  # replay sessions (`/replay`)
        self.outbox.start()
        hub.background(self._catch_up())

    async def stop(self) -> None:
        if self.outbox is not None:
            await self.outbox.stop()
        if self.geo is not None:
            self.geo.close()
            self.geo = None

    def country(self, ip: str) -> str:
        """The country of `ip`, or "" (always, without a GeoIP database)."""
        return "" if self.geo is None else self.geo.country(ip)

    # -- session recording ------------------------------------------------------------------
    # The hooks below run inside the hub's own bookkeeping (after-connect, disconnect,
    # fan-out): they log their failures and never raise into it.
    async def joined(self, ctx: Ctx) -> None:
        """A `/room` connection was admitted: open its session record."""
        try:
            await self._joined(ctx)
        except Exception as exc:
            self.hub.fanout.outage.report(exc, "recording the session of %s failed", ctx.sid)

    async def _joined(self, ctx: Ctx) -> None:
        environ = self.hub.sio.get_environ(ctx.sid, namespace=ROOM) or {}
        request = environ.get("aiohttp.request")
        # The same address every limit uses: behind a trusted proxy, the one it forwards.
        ip = client_ip(request) if isinstance(request, web.Request) else ""
        language = sessions.primary_language(str(environ.get("HTTP_ACCEPT_LANGUAGE", "")))
        invitation_id = ctx.session.identity.split(".", 1)[0]
        email = ""
        with contextlib.suppress(TribuneError):
            email = (await load_invitation(ctx.store, ctx.event_id, invitation_id)).email
        await sessions.open_session(
            ctx.store,
            ctx.event_id,
            ctx.sid,
            ctx.session.identity,
            name=ctx.person.name,
            email=email,
            ip=ip,
            language=language,
            country=self.country(ip),
            role=ctx.person.role,
        )
        if ctx.sid not in self.hub.sessions:  # it dropped while we were writing
            await sessions.close_connection(ctx.store, ctx.event_id, ctx.sid)
        else:
            await sessions.close_if_ended(ctx.store, ctx.event_id, ctx.sid)
        await access.mark_connected(ctx.store, ctx.event_id, invitation_id, now())
        self.stats_soon(ctx.event_id)

    async def left(self, session: Session, sid: str) -> None:
        try:
            await sessions.close_connection(self.t.store, session.event_id, sid)
        except Exception as exc:
            self.hub.fanout.outage.report(exc, "closing the session of %s failed", sid)
        self.stats_soon(session.event_id)

    async def lapsed(self, event_id: str, identity: str, alive_at: float) -> None:
        # Sessions still open here were left by a node that died (a disconnect closes its
        # own): they end when the connection was last known alive, not at this sweep.
        try:
            await sessions.close_identity(self.t.store, event_id, identity, alive_at)
        except Exception as exc:
            self.hub.fanout.outage.report(
                exc, "closing the sessions of %s in %s failed", identity, event_id
            )

    async def forgot(self, event_id: str, identity: str) -> None:
        try:
            await sessions.close_identity(self.t.store, event_id, identity)
        except Exception as exc:
            self.hub.fanout.outage.report(
                exc, "closing the sessions of %s in %s failed", identity, event_id
            )
        self.stats_soon(event_id)

    async def ended(self, event_id: str) -> None:
        # In the background: a slow or failing mail server never delays ending.
        self.hub.background(self.run_follow_up(event_id))

    async def run_follow_up(self, event_id: str) -> None:
        try:
            await follow_up.after_event(
                self.t.store,
                self.mail,
                event_id,
                geo=self.geo is not None,
                replay_link=self.replay_link,
            )
        except Exception as exc:
            self.hub.fanout.outage.report(
                exc, "after-event work for %s failed; it runs again at the next start", event_id
            )
        await self.run_replay_mail(event_id)
        self.stats_soon(event_id)

    async def replay_offered(self, event_id: str) -> None:
        self.hub.background(self.run_replay_mail(event_id))

    async def run_replay_mail(self, event_id: str) -> None:
        """Mail the audience its replay links if the event is on demand (`follow_up`)."""
        try:
            await follow_up.replay_mail(self.t.store, self.mail, event_id, self.replay_link)
        except Exception as exc:
            self.hub.fanout.outage.report(
                exc, "the replay mail of %s failed; it runs again at the next start", event_id
            )

    def replay_link(self, inv: Invitation) -> str:
        """A person's link to the replay page: his own link's kind of token."""
        return self.t.url_for(inv, self.t.tokens.sign_invitation(inv), "replay")

    async def _catch_up(self) -> None:
        try:
            for event_id in await follow_up.pending(self.t.store):
                await self.run_follow_up(event_id)
            for event_id in await follow_up.replay_pending(self.t.store):
                await self.run_replay_mail(event_id)
        except Exception as exc:
            self.hub.fanout.outage.report(exc, "catching up after-event work failed")

    # -- live statistics --------------------------------------------------------------------
    def stats_soon(self, event_id: str) -> None:
        push = lambda: self._push(event_id)  # noqa: E731
        self.hub.fanout.coalesce(("stats.live", event_id), self.stats_every, push)

    async def _push(self, event_id: str) -> None:
        try:
            started = time.monotonic()
            event = await load_event(self.t.store, event_id)
            figures = await self.stats(event)
            # The push costs at most a tenth of the time: a huge event is pushed less often.
            self.stats_every = max(STATS_EVERY, 10 * (time.monotonic() - started))
            await self.hub.sio.emit(
                "stats.live", {"stats": wire(figures)}, room=stats_room(event_id), namespace=MANAGE
            )
        except Exception as exc:
            self.hub.fanout.outage.report(exc, "pushing statistics for %s failed", event_id)

    async def stats(
        self, event: Event, start: float | None = None, end: float | None = None
    ) -> Statistics:
        return await event_stats(
            self.t.store, event, start=start, end=end, geo=self.geo is not None
        )

    def _register_manage(self, hub: Hub) -> None:
        m = hub.manage

        @m.route("stats.get", StatsQuery, Action.VIEW_STATS)
        # `{stats}` stays a map: its Struct belongs in the audience schemas, owned elsewhere.
        async def stats_get(ctx: Ctx, q: StatsQuery) -> dict[str, Statistics]:
            event = await load_event(ctx.store, ctx.event_id)
            return {"stats": await self.stats(event, q.from_, q.to)}

        @m.route("stats.watch", Empty, Action.VIEW_STATS)
        async def stats_watch(ctx: Ctx, _: Empty) -> dict[str, Statistics]:
            await hub.sio.enter_room(ctx.sid, stats_room(ctx.event_id), namespace=MANAGE)
            event = await load_event(ctx.store, ctx.event_id)
            return {"stats": await self.stats(event)}


AUDIENCE = web.AppKey("audience", Audience)


def setup(app: web.Application) -> None:
    """Add the audience side to the app; call after the app's own cleanup context (the hub)."""
    app[AUDIENCE] = Audience()

    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        a = app[AUDIENCE]
        await a.start(app[KEY])
        yield
        await a.stop()

    app.cleanup_ctx.append(lifespan)


def audience(request: web.Request) -> Audience:
    return request.app[AUDIENCE]
