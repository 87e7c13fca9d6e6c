"""Signing in to the dashboard over HTTP: password and one-time links, logout, "me", the
password, and the account's API key (its users: `signaling.http.team`). Rules live in
`room.accounts`; the login cookie and who may do what are asked of `signaling.auth`."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web

from room import keys, ratelimit
from room.accounts import account as account_keys
from room.accounts import logins, users
from room.accounts.account import get_account
from room.audience.registration import normalize_email
from room.errors import invalid
from room.permissions import PERMISSIONS, Action
from room.ratelimit import RATES
from signaling import auth
from signaling.auth import Door, Principal, for_account, principal
from signaling.context import tribune
from signaling.http.common import body, client_ip, json, secure_site
from signaling.schemas.signin import (
    AccountRef,
    LoginForm,
    MagicConsume,
    MagicRequest,
    Me,
    PasswordChange,
)
from signaling.socket.audience import audience

T = TypeVar("T")

routes = web.RouteTableDef()
DASHBOARD = Door.DASHBOARD


async def sign_in_form(request: web.Request, schema: type[T]) -> T:
    """The body of a sign-in route. These routes take no credential, so nothing else stops
    a cross-site form from signing the visitor into another account (login CSRF): they
    ask the dashboard's header, and a body declared as JSON."""
    auth.require_csrf_header(request)
    return await body(request, schema, declared=True)


def me_view(p: Principal) -> Me:
    role = p.account_role
    return Me(
        user=None if p.user is None else p.user.view(),
        account=AccountRef(p.account.id, p.account.name),
        can=[] if role is None else sorted(a.value for a in PERMISSIONS[role]),
    )


async def signed_in(request: web.Request, user: users.User) -> web.Response:
    """Open a login for `user`: "me" as the answer, the login in its cookie."""
    t = tribune(request)
    token = await logins.open_login(t.store, user)
    resp = json(me_view(Principal(await get_account(t.store, user.account_id), user)))
    auth.set_login_cookie(resp, token, secure_site(request, t))
    return resp


@routes.post("/api/v1/auth/login")
async def login(request: web.Request) -> web.Response:
    t = tribune(request)
    form = await sign_in_form(request, LoginForm)
    email = normalize_email(form.email)  # checked before counting: junk spends no attempt
    await ratelimit.slow_down(t.store, keys.login_ip_scope(client_ip(request)), RATES.login_per_ip)
    user = await logins.check_password(t.store, email, form.password, t.config.login_backoff)
    return await signed_in(request, user)


@routes.post("/api/v1/auth/magic")
async def magic_request(request: web.Request) -> web.Response:
    """Mail a one-time sign-in link. The answer is the same whether or not the address
    has a login, so it tells nobody who has one."""
    t = tribune(request)
    form = await sign_in_form(request, MagicRequest)
    email = normalize_email(form.email)
    await ratelimit.slow_down(t.store, keys.magic_ip_scope(client_ip(request)), RATES.magic_per_ip)
    await ratelimit.slow_down(t.store, keys.magic_email_scope(email), RATES.magic_per_email)
    login_url = f"{t.config.base_url}/login"
    await logins.mail_magic_link(t.store, audience(request).mail, email, login_url)
    return web.json_response(
        {
            "ok": True,
            "message": "If this address has a Tribune login, a sign-in link is on its way.",
        }
    )


@routes.post("/api/v1/auth/magic/consume")
async def magic_consume(request: web.Request) -> web.Response:
    t = tribune(request)
    form = await sign_in_form(request, MagicConsume)
    await ratelimit.slow_down(
        t.store, keys.magic_use_ip_scope(client_ip(request)), RATES.magic_use_per_ip
    )
    return await signed_in(request, await logins.consume_magic_link(t.store, form.token))


@routes.post("/api/v1/auth/logout")
async def logout(request: web.Request) -> web.Response:
    auth.require_csrf_header(request)  # a cross-site form may not sign anyone out
    await logins.close_login(tribune(request).store, auth.login_token(request))
    resp = web.json_response({"ok": True})
    auth.clear_login_cookie(resp)
    return resp


@routes.get("/api/v1/me")
async def me(request: web.Request) -> web.Response:
    return json(me_view(await principal(request, tribune(request), DASHBOARD)))


@routes.post("/api/v1/me/password")
async def change_password(request: web.Request) -> web.Response:
    t = tribune(request)
    p = await principal(request, t, DASHBOARD)
    if p.user is None:
        raise invalid("an API key has no password")
    form = await body(request, PasswordChange)
    if p.user.password_hash is not None:
        backoff = t.config.login_backoff
        await logins.check_password(t.store, p.user.email, form.current or "", backoff)
    current = auth.login_token(request)
    user = await logins.change_password(t.store, p.user, form.password, current)
    return json({"user": user.view()})


# -- the account's API key ---------------------------------------------------------------------


@routes.post("/api/v1/account/key")
async def rotate_key(request: web.Request) -> web.Response:
    """A new API key for the account; the old one stops working at once."""
    t = tribune(request)
    p = await for_account(request, t, DASHBOARD, Action.MANAGE_ACCOUNT)
    return json({"api_key": await account_keys.rotate_key(t.store, p.account.id)})
