"""The audience side of the edge: dashboard logins, pages and HTTP API, session recording,
live statistics on `/manage`, exports, and the after-event mail.

`setup(app)` adds the routes and a cleanup context that, once the hub exists,
hooks the session recorder into it (`/room` connects, `on_leave`, `on_forget`,
`on_event_end`), registers `stats.get` / `stats.watch` on `/manage`, and runs
the mail worker. Rules live in `room/` (registration, access, sessions, stats,
users, certificates, mail, exports); who may do what in `room.permissions`.

Authentication: the account's API key as a Bearer token (scripts), or the
dashboard's login cookie (HTTP-only, SameSite=Lax, Secure over HTTPS). Requests
that change something with the cookie must carry `X-Requested-With: tribune`,
which a page of another site cannot add without a CORS grant Tribune never gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import maxminddb
import msgspec
from aiohttp import web

from moderation.records import Visibility
from room import events as ev
from room import ratelimit
from room.accounts import logins, users
from room.accounts.account import get_account
from room.accounts.passwords import MAX_PASSWORD
from room.audience import access, certificates, follow_up, registration, sessions
from room.audience import exports as xp
from room.audience.outbox import Outbox
from room.audience.stats import event_stats
from room.errors import Code, TribuneError, invalid, not_found
from room.events import load_event, load_invitation
from room.permissions import PERMISSIONS, Action, require
from room.ratelimit import RATES
from room.records import Account, Event, Invitation, now
from room.types import AccessMode, EventKind, Role
from signaling.api import account_of, body
from signaling.context import KEY, Tribune, tribune
from signaling.hub import MANAGE, ROOM, Ctx, Hub, Session
from signaling.pages import NODE_MODULES, page
from signaling.schemas.room import Empty
from signaling.smtp import transport_for

log = logging.getLogger(__name__)

CHART_JS = NODE_MODULES / "chart.js" / "dist" / "chart.umd.min.js"

COOKIE = "tribune_login"
CSRF_HEADER = "X-Requested-With"
STATS_EVERY = 1.0
"""Live statistics are pushed at most once per this many seconds per event (more when slow)."""
PAGE_LIMIT = 500

routes = web.RouteTableDef()


# -- runtime -----------------------------------------------------------------------------


@dataclass
class Dashboard:
    """What the audience side keeps while the server runs."""

    outbox: Outbox | None = None
    geo: maxminddb.Reader | None = None
    stats_every: float = STATS_EVERY
    _t: Tribune | None = None
    _due: dict[str, asyncio.TimerHandle] = field(default_factory=dict)

    @property
    def t(self) -> Tribune:
        assert self._t is not None, "the dashboard is not started"
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
            self.geo = maxminddb.open_database(config.geoip_path)
        self.outbox = Outbox(
            t.store,
            transport_for(config.smtp_url, config.data_dir),
            config.mail_from,
            attach=follow_up.certificate_attacher(t.store),
        )
        hub = self.hub
        hub.room.on_connect.append(self.joined)
        hub.on_leave.append(self.left)
        hub.on_forget.append(self.forgot)
        hub.on_event_end.append(self.ended)
        self._register_manage(hub)
        self.outbox.start()
        hub.background(self._catch_up())

    async def stop(self) -> None:
        for handle in self._due.values():
            handle.cancel()
        self._due.clear()
        if self.outbox is not None:
            await self.outbox.stop()
        if self.geo is not None:
            self.geo.close()
            self.geo = None

    # -- session recording ------------------------------------------------------------------
    def country(self, ip: str) -> str:
        if self.geo is None or not ip:
            return ""
        try:
            found = self.geo.get(ip)
        except ValueError:
            return ""
        if not isinstance(found, dict):
            return ""
        for key in ("country", "registered_country"):
            place = found.get(key)
            if isinstance(place, dict) and isinstance(place.get("iso_code"), str):
                return str(place["iso_code"])
        return ""

    # The hooks below run inside the hub's own bookkeeping (after-connect, disconnect,
    # fan-out): they log their failures and never raise into it.
    async def joined(self, ctx: Ctx) -> None:
        """A `/room` connection was admitted: open its session record."""
        try:
            await self._joined(ctx)
        except Exception:
            log.exception("recording the session of %s failed", ctx.sid)

    async def _joined(self, ctx: Ctx) -> None:
        environ = self.hub.sio.get_environ(ctx.sid, namespace=ROOM) or {}
        request = environ.get("aiohttp.request")
        ip = str(getattr(request, "remote", "") or "")
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
        await access.mark_connected(ctx.store, ctx.event_id, invitation_id, now())
        self.stats_soon(ctx.event_id)

    async def left(self, session: Session, sid: str) -> None:
        try:
            await sessions.close_connection(self.t.store, session.event_id, sid)
        except Exception:
            log.exception("closing the session of %s failed", sid)
        self.stats_soon(session.event_id)

    async def forgot(self, event_id: str, identity: str) -> None:
        try:
            await sessions.close_identity(self.t.store, event_id, identity)
        except Exception:
            log.exception("closing the sessions of %s in %s failed", identity, event_id)
        self.stats_soon(event_id)

    async def ended(self, event_id: str) -> None:
        # In the background: a slow or failing mail server never delays ending.
        self.hub.background(self.follow_up(event_id))

    async def follow_up(self, event_id: str) -> None:
        try:
            await follow_up.after_event(self.t.store, self.mail, event_id, geo=self.geo is not None)
        except Exception:
            log.exception(
                "after-event work for %s failed; it runs again at the next start", event_id
            )
        self.stats_soon(event_id)

    async def _catch_up(self) -> None:
        try:
            for event_id in await follow_up.pending(self.t.store):
                await self.follow_up(event_id)
        except Exception:
            log.exception("catching up after-event work failed")

    # -- live statistics --------------------------------------------------------------------
    def stats_soon(self, event_id: str) -> None:
        if event_id in self._due:
            return
        loop = asyncio.get_running_loop()
        self._due[event_id] = loop.call_later(
            self.stats_every, lambda: self.hub.background(self._push(event_id))
        )

    async def _push(self, event_id: str) -> None:
        self._due.pop(event_id, None)
        try:
            started = time.monotonic()
            event = await load_event(self.t.store, event_id)
            figures = await self.stats(event)
            # The push costs at most a tenth of the time: a huge event is pushed less often.
            self.stats_every = max(STATS_EVERY, 10 * (time.monotonic() - started))
            await self.hub.sio.emit(
                "stats.live", {"stats": figures}, room=stats_room(event_id), namespace=MANAGE
            )
        except Exception:
            log.exception("pushing statistics for %s failed", event_id)

    async def stats(
        self, event: Event, start: float | None = None, end: float | None = None
    ) -> dict[str, Any]:
        return await event_stats(
            self.t.store, event, start=start, end=end, geo=self.geo is not None
        )

    def _register_manage(self, hub: Hub) -> None:
        m = hub.manage

        @m.route("stats.get", StatsQuery, Action.VIEW_STATS)
        async def stats_get(ctx: Ctx, q: StatsQuery) -> dict[str, Any]:
            event = await load_event(ctx.store, ctx.event_id)
            return {"stats": await self.stats(event, q.from_, q.to)}

        @m.route("stats.watch", Empty, Action.VIEW_STATS)
        async def stats_watch(ctx: Ctx, _: Empty) -> dict[str, Any]:
            await hub.sio.enter_room(ctx.sid, stats_room(ctx.event_id), namespace=MANAGE)
            event = await load_event(ctx.store, ctx.event_id)
            return {"stats": await self.stats(event)}


def stats_room(event_id: str) -> str:
    return f"ev:{event_id}:stats"


class StatsQuery(msgspec.Struct, forbid_unknown_fields=True):
    from_: float | None = msgspec.field(default=None, name="from")
    to: float | None = None


DASHBOARD = web.AppKey("dashboard", Dashboard)


def setup(app: web.Application) -> None:
    """Add the dashboard to the app; call after the app's own cleanup context (the hub)."""
    app.add_routes(routes)
    app[DASHBOARD] = Dashboard()

    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        d = app[DASHBOARD]
        await d.start(app[KEY])
        yield
        await d.stop()

    app.cleanup_ctx.append(lifespan)


def dashboard(request: web.Request) -> Dashboard:
    return request.app[DASHBOARD]


# -- who is asking -----------------------------------------------------------------------


@dataclass
class Principal:
    """The account's API key (`user` None: organizer rights) or a dashboard user."""

    account: Account
    user: users.User | None

    @property
    def account_role(self) -> Role:
        return Role.ORGANIZER if self.user is None else users.account_role(self.user)

    def role_in(self, event: Event) -> Role | None:
        if self.user is None:
            return Role.ORGANIZER if event.account_id == self.account.id else None
        return users.role_in(self.user, event)

    @property
    def who(self) -> str:
        return "API key" if self.user is None else self.user.email

    @property
    def holder(self) -> str:
        return "api" if self.user is None else self.user.id


async def principal(request: web.Request) -> Principal:
    t = tribune(request)
    if request.headers.get("Authorization"):
        return Principal(await account_of(request), None)
    token = request.cookies.get(COOKIE, "")
    user = await logins.user_of_login(t.store, token) if token else None
    if user is None:
        raise TribuneError(Code.UNAUTHORIZED, "sign in first")
    if request.method not in ("GET", "HEAD") and request.headers.get(CSRF_HEADER) != "tribune":
        raise TribuneError(Code.FORBIDDEN, f"send the {CSRF_HEADER}: tribune header")
    return Principal(await get_account(t.store, user.account_id), user)


async def for_account(request: web.Request, action: Action) -> tuple[Tribune, Principal]:
    p = await principal(request)
    require(p.account_role, action)
    return tribune(request), p


async def for_event(request: web.Request, action: Action) -> tuple[Tribune, Principal, Event, Role]:
    """The event named in the path, if the principal may do `action` on it. Another
    account's event, or one a collaborator was not added to, is `not_found`."""
    t = tribune(request)
    p = await principal(request)
    event = await load_event(t.store, request.match_info["event_id"])
    role = p.role_in(event)
    if role is None:
        raise not_found("event")
    require(role, action)
    return t, p, event, role


def client_ip(request: web.Request) -> str:
    return request.remote or "unknown"


def set_login_cookie(resp: web.StreamResponse, request: web.Request, token: str) -> None:
    secure = request.secure or tribune(request).config.base_url.startswith("https://")
    resp.set_cookie(
        COOKIE,
        token,
        max_age=int(logins.LOGIN_TTL),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=secure,
    )


def query_int(request: web.Request, name: str, default: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"{name} must be a whole number", name) from None
    if value < 0 or value > high:
        raise invalid(f"{name} must be between 0 and {high}", name)
    return value


def query_time(request: web.Request, name: str) -> float | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise invalid(f"{name} must be a Unix time in seconds", name) from None


async def read_limited(request: web.Request, limit: int, what: str) -> bytes:
    """The raw request body, refused whole when it is larger than `limit` bytes."""
    too_big = invalid(f"the {what} is larger than {limit // (1024 * 1024)} MB", "file")
    if request.content_length is not None and request.content_length > limit:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def join_link(t: Tribune, inv: Invitation) -> str:
    return t.url_for(inv, t.tokens.sign(inv.event_id, inv.id, inv.role, inv.gen))


# -- pages -----------------------------------------------------------------------------------

@routes.get("/login")
async def login_page(request: web.Request) -> web.FileResponse:
    return page("login")


@routes.get("/dashboard")
async def dashboard_page(request: web.Request) -> web.FileResponse:
    return page("dashboard")


@routes.get("/register/{event_id}")
async def register_page(request: web.Request) -> web.FileResponse:
    return page("register")


@routes.get("/stats/{event_id}")
async def stats_page(request: web.Request) -> web.FileResponse:
    return page("stats")


@routes.get("/dashboard/vendor/chart.umd.min.js")
async def chart_js(request: web.Request) -> web.FileResponse:
    if not CHART_JS.exists():
        raise web.HTTPNotFound(reason="run `npm ci` to install the browser dependencies")
    return web.FileResponse(CHART_JS, headers={"Cache-Control": "public, max-age=3600"})


# -- sign-in -----------------------------------------------------------------------------------

EmailText = Annotated[str, msgspec.Meta(max_length=320)]
Password = Annotated[str, msgspec.Meta(max_length=MAX_PASSWORD)]
TokenText = Annotated[str, msgspec.Meta(max_length=200)]


class LoginForm(msgspec.Struct, forbid_unknown_fields=True):
    email: EmailText
    password: Password


class MagicRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: EmailText


class MagicConsume(msgspec.Struct, forbid_unknown_fields=True):
    token: TokenText


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    password: Password
    current: Password | None = None


def _me(p: Principal) -> dict[str, Any]:
    return {
        "user": None if p.user is None else p.user.view(),
        "account": {"id": p.account.id, "name": p.account.name},
        "can": sorted(a.value for a in PERMISSIONS[p.account_role]),
    }


@routes.post("/api/v1/auth/login")
async def login(request: web.Request) -> web.Response:
    t = tribune(request)
    form = await body(request, LoginForm)
    email = form.email.strip().lower()
    await ratelimit.slow_down(t.store, f"login-ip:{client_ip(request)}", RATES.login_per_ip)
    await ratelimit.slow_down(t.store, f"login:{email}", RATES.login_per_email)
    user = await logins.verify_login(t.store, email, form.password)
    token = await logins.open_login(t.store, user)
    resp = web.json_response(_me(Principal(await get_account(t.store, user.account_id), user)))
    set_login_cookie(resp, request, token)
    return resp


@routes.post("/api/v1/auth/magic")
async def magic_request(request: web.Request) -> web.Response:
    """Mail a one-time sign-in link. The answer is the same whether or not the address
    has a login, so it tells nobody who has one."""
    t = tribune(request)
    form = await body(request, MagicRequest)
    email = form.email.strip().lower()
    await ratelimit.slow_down(t.store, f"magic-ip:{client_ip(request)}", RATES.magic_per_ip)
    await ratelimit.slow_down(t.store, f"magic:{email}", RATES.magic_per_email)
    await logins.mail_magic_link(
        t.store, dashboard(request).mail, email, f"{t.config.base_url}/login"
    )
    return web.json_response(
        {
            "ok": True,
            "message": "If this address has a Tribune login, a sign-in link is on its way.",
        }
    )


@routes.post("/api/v1/auth/magic/consume")
async def magic_consume(request: web.Request) -> web.Response:
    t = tribune(request)
    form = await body(request, MagicConsume)
    await ratelimit.slow_down(t.store, f"magic-use-ip:{client_ip(request)}", RATES.magic_use_per_ip)
    user = await logins.consume_magic_link(t.store, form.token)
    token = await logins.open_login(t.store, user)
    resp = web.json_response(_me(Principal(await get_account(t.store, user.account_id), user)))
    set_login_cookie(resp, request, token)
    return resp


@routes.post("/api/v1/auth/logout")
async def logout(request: web.Request) -> web.Response:
    await logins.close_login(tribune(request).store, request.cookies.get(COOKIE, ""))
    resp = web.json_response({"ok": True})
    resp.del_cookie(COOKIE, path="/")
    return resp


@routes.get("/api/v1/me")
async def me(request: web.Request) -> web.Response:
    return web.json_response(_me(await principal(request)))


@routes.post("/api/v1/me/password")
async def change_password(request: web.Request) -> web.Response:
    t = tribune(request)
    p = await principal(request)
    if p.user is None:
        raise invalid("an API key has no password")
    form = await body(request, PasswordChange)
    if p.user.password_hash is not None:
        await ratelimit.slow_down(t.store, f"login:{p.user.email}", RATES.login_per_email)
        await logins.verify_login(t.store, p.user.email, form.current or "")
    user = await users.set_password(t.store, p.user, form.password)
    return web.json_response({"user": user.view()})


# -- account users ------------------------------------------------------------------------------


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    email: EmailText
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    kind: users.UserKind = users.UserKind.ORGANIZER
    password: Password | None = None


@routes.post("/api/v1/account/users")
async def create_user(request: web.Request) -> web.Response:
    t, p = await for_account(request, Action.MANAGE_ACCOUNT)
    form = await body(request, UserCreate)
    user = await users.create_user(
        t.store, p.account, form.email, form.name, form.kind, form.password
    )
    return web.json_response({"user": user.view()}, status=201)


@routes.get("/api/v1/account/users")
async def list_users(request: web.Request) -> web.Response:
    t, p = await for_account(request, Action.MANAGE_ACCOUNT)
    return web.json_response(
        {"users": [u.view() for u in await users.account_users(t.store, p.account.id)]}
    )


# -- events -----------------------------------------------------------------------------------

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class EventForm(msgspec.Struct, forbid_unknown_fields=True):
    """The dashboard's event editor: the event's own fields and its audience settings."""

    title: Title | None = None
    kind: EventKind | None = None
    access_mode: AccessMode | None = None
    capacity: int | None = None
    scheduled_start: float | None = None
    registration_fields: list[Any] | None = None
    certificate: dict[str, Any] | None = None
    question_visibility: Visibility | None = None
    """What participants see of other people's questions (moderation.questions reads it)."""
    anonymous_questions: bool | None = None


def merged_settings(form: EventForm, current: dict[str, Any]) -> dict[str, Any]:
    settings = dict(current)
    if form.registration_fields is not None:
        fields = registration.parse_fields(form.registration_fields)
        settings["registration_fields"] = msgspec.to_builtins(fields)
    if form.certificate is not None:
        settings["certificate"] = certificates.parse_settings(form.certificate)
    if form.question_visibility is not None:
        settings["question_visibility"] = form.question_visibility.value
    if form.anonymous_questions is not None:
        settings["anonymous_questions"] = form.anonymous_questions
    return settings


def event_view(t: Tribune, event: Event, role: Role) -> dict[str, Any]:
    out = event.public()
    out["role"] = role.value
    out["can"] = sorted(a.value for a in PERMISSIONS[role])
    out["links"] = {
        "stats": f"{t.config.base_url}/stats/{event.id}",
        "register": f"{t.config.base_url}/register/{event.id}"
        if event.access_mode is AccessMode.REGISTRATION
        else None,
    }
    return out


@routes.get("/api/v1/dashboard/events")
async def dashboard_events(request: web.Request) -> web.Response:
    t = tribune(request)
    p = await principal(request)
    visible = await users.visible_events(t.store, p.account, p.user)
    return web.json_response({"events": [event_view(t, e, r) for e, r in visible], **_me(p)})


@routes.post("/api/v1/dashboard/events")
async def dashboard_create(request: web.Request) -> web.Response:
    t, p = await for_account(request, Action.MANAGE_ACCOUNT)
    form = await body(request, EventForm)
    if form.title is None:
        raise invalid("a title is required", "title")
    settings = merged_settings(form, {})
    event = await ev.create_event(
        t.store,
        p.account,
        ev.EventCreate(
            title=form.title,
            kind=form.kind or EventKind.WEBINAR,
            access_mode=form.access_mode or AccessMode.OPEN,
            capacity=form.capacity,
            scheduled_start=form.scheduled_start,
            settings=settings,
        ),
    )
    await access.log(t.store, event.id, p.who, "event.created", event.title)
    return web.json_response(event_view(t, event, Role.ORGANIZER), status=201)


@routes.get("/api/v1/dashboard/events/{event_id}")
async def dashboard_event(request: web.Request) -> web.Response:
    t, _, event, role = await for_event(request, Action.VIEW_AUDIENCE)
    direct = await access.direct_link(t.store, event)
    out = event_view(t, event, role)
    out["counts"] = {
        "registrations": await registration.count(t.store, event.id),
        "guests": await access.guest_count(t.store, event.id),
        "sessions": await sessions.count(t.store, event.id),
    }
    out["direct_link"] = None if direct is None else join_link(t, direct)
    out["collaborators"] = [u.view() for u in await users.collaborators(t.store, event.id)]
    return web.json_response(out)


@routes.patch("/api/v1/dashboard/events/{event_id}")
async def dashboard_update(request: web.Request) -> web.Response:
    t, p, event, role = await for_event(request, Action.EDIT_EVENT)
    form = await body(request, EventForm)
    updated = await ev.update_event(
        t.store,
        p.account,
        event.id,
        ev.EventUpdate(
            title=form.title,
            kind=form.kind,
            access_mode=form.access_mode,
            capacity=form.capacity,
            scheduled_start=form.scheduled_start,
        ),
    )
    if any(
        x is not None
        for x in (
            form.registration_fields,
            form.certificate,
            form.question_visibility,
            form.anonymous_questions,
        )
    ):
        merged_settings(form, updated.settings)  # validate before writing

        def apply(e: Event) -> None:
            e.settings = merged_settings(form, e.settings)

        updated = await ev.change_event(t.store, event.id, apply)
    await access.log(t.store, event.id, p.who, "event.edited", updated.title)
    return web.json_response(event_view(t, updated, role))


@routes.post("/api/v1/events/{event_id}/links")
async def my_links(request: web.Request) -> web.Response:
    """The asker's own links into the event's room, manager and screen pages."""
    t, p, event, role = await for_event(request, Action.OPEN_MANAGER)
    name = "Organizer" if p.user is None else p.user.name
    email = "" if p.user is None else p.user.email
    inv = await users.staff_invitation(t.store, event, p.holder, role, name, email)
    token = t.tokens.sign(inv.event_id, inv.id, inv.role, inv.gen)
    return web.json_response(
        {
            "token": token,
            "room": t.url_for(inv, token, page="room"),
            "manage": t.url_for(inv, token, page="manage"),
            "screen": t.url_for(inv, token, page="screen"),
            "stats": f"{t.config.base_url}/stats/{event.id}",
        }
    )


# -- collaborators --------------------------------------------------------------------------


class CollaboratorAdd(msgspec.Struct, forbid_unknown_fields=True):
    email: EmailText
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""


@routes.get("/api/v1/events/{event_id}/collaborators")
async def list_collaborators(request: web.Request) -> web.Response:
    t, _, event, _ = await for_event(request, Action.VIEW_AUDIENCE)
    return web.json_response(
        {"collaborators": [u.view() for u in await users.collaborators(t.store, event.id)]}
    )


@routes.post("/api/v1/events/{event_id}/collaborators")
async def add_collaborator(request: web.Request) -> web.Response:
    t, p, event, _ = await for_event(request, Action.EDIT_EVENT)
    require(p.account_role, Action.MANAGE_ACCOUNT)
    form = await body(request, CollaboratorAdd)
    user = await users.invite_collaborator(
        t.store,
        dashboard(request).mail,
        p.account,
        event,
        form.email,
        form.name,
        p.who,
        f"{t.config.base_url}/login",
    )
    return web.json_response({"user": user.view()}, status=201)


@routes.delete("/api/v1/events/{event_id}/collaborators/{user_id}")
async def remove_collaborator(request: web.Request) -> web.Response:
    t, p, event, _ = await for_event(request, Action.EDIT_EVENT)
    require(p.account_role, Action.MANAGE_ACCOUNT)
    await users.remove_collaborator(t.store, event, request.match_info["user_id"], p.who)
    return web.json_response({"ok": True})


# -- registration ----------------------------------------------------------------------------


@routes.get("/api/v1/public/events/{event_id}/registration")
async def public_registration(request: web.Request) -> web.Response:
    event = await load_event(tribune(request).store, request.match_info["event_id"])
    return web.json_response(registration.public_form(event))


@routes.post("/api/v1/public/events/{event_id}/registrations")
async def register(request: web.Request) -> web.Response:
    t = tribune(request)
    await ratelimit.slow_down(t.store, f"register-ip:{client_ip(request)}", RATES.register_per_ip)
    event = await load_event(t.store, request.match_info["event_id"])
    form = await body(request, registration.RegistrationForm)
    reg, link = await registration.register_and_mail(
        t.store, dashboard(request).mail, event, form, lambda inv: join_link(t, inv)
    )
    return web.json_response(
        {
            "registration": {"id": reg.id, "email": reg.email, "name": reg.name},
            "link": link,
            "certificate": registration.certificate_enabled(event),
            "message": "You are registered. Your personal link was also sent to your e-mail.",
        },
        status=201,
    )


@routes.get("/api/v1/events/{event_id}/registrations")
async def list_registrations(request: web.Request) -> web.Response:
    t, _, event, _ = await for_event(request, Action.VIEW_AUDIENCE)
    offset = query_int(request, "offset", 0, 10**9)
    limit = query_int(request, "limit", 100, PAGE_LIMIT)
    out: list[dict[str, Any]] = []
    async for batch in registration.pages(t.store, event.id, page=limit, start=offset):
        out.extend(msgspec.to_builtins(batch))
        break
    return web.json_response(
        {"registrations": out, "count": await registration.count(t.store, event.id)}
    )


# -- access list --------------------------------------------------------------------------------


class GuestAdd(msgspec.Struct, forbid_unknown_fields=True):
    email: EmailText
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""


class DirectLinkSet(msgspec.Struct, forbid_unknown_fields=True):
    enabled: bool


@routes.get("/api/v1/events/{event_id}/guests")
async def list_guests(request: web.Request) -> web.Response:
    t, _, event, _ = await for_event(request, Action.VIEW_AUDIENCE)
    offset = query_int(request, "offset", 0, 10**9)
    limit = query_int(request, "limit", 100, PAGE_LIMIT)
    out: list[dict[str, Any]] = []
    async for batch in access.guest_pages(t.store, event.id, page=limit, start=offset):
        out.extend(msgspec.to_builtins(batch))
        break
    return web.json_response({"guests": out, "count": await access.guest_count(t.store, event.id)})


@routes.post("/api/v1/events/{event_id}/guests")
async def add_guest(request: web.Request) -> web.Response:
    t, p, event, _ = await for_event(request, Action.EDIT_EVENT)
    form = await body(request, GuestAdd)
    guest = await access.add_guest(t.store, event, form.email, form.name, p.who)
    inv = await load_invitation(t.store, event.id, guest.invitation_id)
    return web.json_response(
        {"guest": msgspec.to_builtins(guest), "link": join_link(t, inv)}, status=201
    )


@routes.post("/api/v1/events/{event_id}/guests/import")
async def import_guests(request: web.Request) -> web.Response:
    """Body: the CSV file itself (UTF-8, at most 10 MB; an `email` column, `name` optional)."""
    t, p, event, _ = await for_event(request, Action.EDIT_EVENT)
    data = await read_limited(request, access.MAX_IMPORT_BYTES, "file")
    report = await access.import_guests(t.store, event, data, p.who)
    return web.json_response(report.view())


@routes.delete("/api/v1/events/{event_id}/guests")
async def delete_guests(request: web.Request) -> web.Response:
    t, p, event, _ = await for_event(request, Action.EDIT_EVENT)
    return web.json_response({"deleted": await access.delete_all(t.store, event, p.who)})


@routes.get("/api/v1/events/{event_id}/activity")
async def activity(request: web.Request) -> web.Response:
    t, _, event, _ = await for_event(request, Action.VIEW_AUDIENCE)
    offset = query_int(request, "offset", 0, 10**9)
    limit = query_int(request, "limit", 200, PAGE_LIMIT)
    items = await access.activity(t.store, event.id, offset, limit)
    return web.json_response(
        {
            "activity": [
                {"at": a.at, "who": a.who, "action": a.action, "detail": a.detail} for a in items
            ]
        }
    )


@routes.get("/api/v1/events/{event_id}/direct-link")
async def get_direct_link(request: web.Request) -> web.Response:
    t, _, event, _ = await for_event(request, Action.VIEW_AUDIENCE)
    inv = await access.direct_link(t.store, event)
    return web.json_response(
        {"enabled": inv is not None, "url": None if inv is None else join_link(t, inv)}
    )


@routes.put("/api/v1/events/{event_id}/direct-link")
async def put_direct_link(request: web.Request) -> web.Response:
    t, p, event, _ = await for_event(request, Action.EDIT_EVENT)
    form = await body(request, DirectLinkSet)
    inv = await access.set_direct_link(t.store, event, form.enabled, p.who)
    return web.json_response(
        {"enabled": inv is not None, "url": None if inv is None else join_link(t, inv)}
    )


# -- sessions and statistics ---------------------------------------------------------------------


@routes.get("/api/v1/events/{event_id}/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    t, _, event, _ = await for_event(request, Action.VIEW_AUDIENCE)
    offset = query_int(request, "offset", 0, 10**9)
    limit = query_int(request, "limit", 100, PAGE_LIMIT)
    at = now()
    page = await sessions.slice_of(t.store, event.id, offset, limit)
    return web.json_response(
        {
            "sessions": [{**msgspec.structs.asdict(s), "duration": s.duration(at)} for s in page],
            "count": await sessions.count(t.store, event.id),
        }
    )


@routes.get("/api/v1/events/{event_id}/stats")
async def get_stats(request: web.Request) -> web.Response:
    _, _, event, _ = await for_event(request, Action.VIEW_STATS)
    figures = await dashboard(request).stats(
        event, query_time(request, "from"), query_time(request, "to")
    )
    return web.json_response({"stats": figures})


# -- exports --------------------------------------------------------------------------------------

EXPORTS: dict[str, Action] = {
    "registrations": Action.VIEW_AUDIENCE,
    "guests": Action.VIEW_AUDIENCE,
    "activity": Action.VIEW_AUDIENCE,
    "sessions": Action.VIEW_AUDIENCE,
    "statistics": Action.VIEW_STATS,
}


async def stream_table(
    request: web.Request, table: xp.Table, fmt: xp.Format, filename: str
) -> web.StreamResponse:
    """Send a table as a CSV or XLSX download without holding it in memory."""
    headers = {
        "Content-Type": xp.MEDIA_TYPE[fmt],
        "Content-Disposition": f'attachment; filename="{filename}.{fmt.value}"',
        "Cache-Control": "no-store",
    }
    if fmt is xp.Format.CSV:
        resp = web.StreamResponse(headers=headers)
        await resp.prepare(request)
        async for chunk in xp.csv_chunks(table):
            await resp.write(chunk)
        await resp.write_eof()
        return resp
    with tempfile.TemporaryDirectory(prefix="tribune-export-") as tmp:
        path = Path(tmp) / "export.xlsx"
        await xp.write_xlsx(table, path)
        headers["Content-Length"] = str(path.stat().st_size)
        resp = web.StreamResponse(headers=headers)
        await resp.prepare(request)
        with path.open("rb") as f:
            while chunk := await asyncio.to_thread(f.read, 256 * 1024):
                await resp.write(chunk)
        await resp.write_eof()
        return resp


@routes.get("/api/v1/events/{event_id}/exports/{name}.{fmt}")
async def export(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    action = EXPORTS.get(name)
    if action is None:
        raise not_found("export")
    try:
        fmt = xp.Format(request.match_info["fmt"])
    except ValueError:
        raise invalid("export as csv or xlsx", "format") from None
    t, _, event, _ = await for_event(request, action)
    table: xp.Table
    if name == "registrations":
        table = xp.registrations_table(t.store, event)
    elif name == "guests":
        table = xp.guests_table(t.store, event)
    elif name == "activity":
        table = xp.activity_table(t.store, event)
    elif name == "sessions":
        table = xp.sessions_table(t.store, event, now())
    else:
        table = xp.stats_table(
            t.store,
            event,
            dashboard(request).geo is not None,
            query_time(request, "from"),
            query_time(request, "to"),
        )
    return await stream_table(request, table, fmt, f"{event.id}-{name}")


# -- certificates --------------------------------------------------------------------------------


@routes.get("/api/v1/events/{event_id}/certificates")
async def list_certificates(request: web.Request) -> web.Response:
    t, _, event, _ = await for_event(request, Action.VIEW_STATS)
    out = []
    for c in await certificates.issued(t.store, event.id):
        out.append(
            {
                "id": c.id,
                "email": c.email,
                "name": c.name,
                "issued_at": c.issued_at,
                "seconds": c.seconds,
                "url": f"/api/v1/events/{event.id}/certificates/{c.id}.pdf",
            }
        )
    return web.json_response({"certificates": out})


@routes.get("/api/v1/events/{event_id}/certificates/{cert_id}.pdf")
async def certificate_pdf(request: web.Request) -> web.Response:
    t, _, event, _ = await for_event(request, Action.VIEW_STATS)
    cert = await certificates.load(t.store, event.id, request.match_info["cert_id"])
    pdf = await certificates.render(t.store, event, cert)
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="certificate-{cert.id}.pdf"'},
    )


@routes.put("/api/v1/events/{event_id}/certificate/{kind}")
async def put_certificate_image(request: web.Request) -> web.Response:
    """Body: the PNG or JPEG image (at most 1 MB) of the logo or the signature."""
    t, p, event, _ = await for_event(request, Action.EDIT_EVENT)
    try:
        kind = certificates.ImageKind(request.match_info["kind"])
    except ValueError:
        raise not_found("certificate image") from None
    data = await read_limited(request, certificates.MAX_IMAGE, "image")
    await certificates.set_image(t.store, event.id, kind, data)
    await access.log(t.store, event.id, p.who, f"certificate.{kind.value}", f"{len(data)} bytes")
    return web.json_response({"ok": True, "bytes": len(data)})


@routes.get("/api/v1/events/{event_id}/certificate/{kind}")
async def get_certificate_image(request: web.Request) -> web.Response:
    t, _, event, _ = await for_event(request, Action.VIEW_AUDIENCE)
    try:
        kind = certificates.ImageKind(request.match_info["kind"])
    except ValueError:
        raise not_found("certificate image") from None
    data = await certificates.get_image(t.store, event.id, kind)
    if data is None:
        raise not_found("certificate image")
    return web.Response(body=data, content_type=certificates.sniff_image(data))
