"""Who is asking: the one resolver of principals, for every route and every socket.

Credentials, all resolved here:
- the account's API key, as `Authorization: Bearer <key>` (scripts);
- the dashboard's login cookie (HTTP-only, SameSite=Lax, Secure over HTTPS). Requests that
  change something with the cookie must carry `X-Requested-With: tribune`, which a page of
  another site cannot add without a CORS grant Tribune never gives;
- a link token (a JWT naming an invitation of one event): on a socket's connect, and as
  a Bearer credential on the staff routes of its event.

Each route says which it takes (`Door`), and asks `room.permissions` about its `Principal`.

Every token is signed and checked by the one signer, `signaling.tokens`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from aiohttp import web

from room.accounts import logins, secondary, users
from room.accounts.account import account_by_key, get_account
from room.errors import Code, TribuneError, not_found
from room.events import load_event, load_invitation
from room.permissions import API_KEY_ROLE, Action, require
from room.presence import revocation, roster
from room.records import Account, Event, Invitation, Person, now
from room.store import Store
from room.types import Role
from signaling.tokens import Tokens

# -- link tokens -------------------------------------------------------------------------------


async def link_invitation(
    store: Store, tokens: Tokens, token: str, event_id: str | None = None
) -> Invitation:
    """The invitation a link token names, if the link still holds: a valid signature, not
    expired, the invitation not withdrawn, and its generation current (a re-issued link
    replaces older tokens). `event_id`: the event a route names, which the link must be for.
    The hub calls this on a socket's connect (no `event_id`)."""
    claims = tokens.verify(token)
    if event_id is not None and claims.event_id != event_id:
        raise TribuneError(Code.FORBIDDEN, "this link is for another event")
    try:
        inv = await load_invitation(store, claims.event_id, claims.invitation)
    except TribuneError:
        if event_id is None:  # a socket names no event: say so when it is gone
            await load_event(store, claims.event_id)
        raise TribuneError(Code.UNAUTHORIZED, "this link was withdrawn") from None
    if inv.gen != claims.gen:
        raise TribuneError(Code.UNAUTHORIZED, "this link was re-issued; use the new one")
    return inv


# -- principals of HTTP requests ----------------------------------------------------------------

COOKIE = "tribune_login"
CSRF_HEADER = "X-Requested-With"


def require_csrf_header(request: web.Request) -> None:
    """Refuse (`forbidden`) a request without `X-Requested-With: tribune`: a page of another
    site cannot add it (no CORS grant), so a cross-site form never gets past this. Every
    cookie write asks it, and so do the sign-in routes (login CSRF) and logout."""
    if request.headers.get(CSRF_HEADER) != "tribune":
        raise TribuneError(Code.FORBIDDEN, f"send the {CSRF_HEADER}: tribune header")


class Door(Enum):
    """Which credentials a route takes."""

    API_KEY = "api_key"
    """The events API of scripts: the account's API key only."""
    DASHBOARD = "dashboard"
    """The dashboard's API: the API key, else the login cookie."""
    STAFF = "staff"
    """Staff tools of one event (slides, moderation exports): the API key or a link token."""


@dataclass(frozen=True)
class Principal:
    """Who makes a request: the account itself (its API key), one of its dashboard users,
    or the holder of a staff link into one event (`invitation`)."""

    account: Account
    user: users.User | None = None
    invitation: Invitation | None = None

    @property
    def account_role(self) -> Role | None:
        """The role whose permissions decide the account pages; None for a link."""
        if self.invitation is not None:
            return None
        return API_KEY_ROLE if self.user is None else users.account_role(self.user)

    def require_on_account(self, action: Action) -> None:
        """Refuse (`forbidden`) unless the account pages allow him `action`."""
        role = self.account_role
        if role is None:
            raise TribuneError(Code.FORBIDDEN, "a link gives no rights on the account")
        require(role, action)

    def require_owner(self) -> None:
        """Refuse (`forbidden`) unless he is the account's owner (its API key, or the owner
        user): multi-users; with `secondary.require_main`, buying, cancelling and
        secondary accounts."""
        if self.invitation is not None or not users.is_owner(self.user):
            raise TribuneError(Code.FORBIDDEN, "only the account's owner may do this")


    def role_in(self, event: Event) -> Role | None:
        """The principal's role in `event`, or None when he has no business there."""
        if event.account_id != self.account.id:
            return None
        if self.invitation is not None:
            return self.invitation.role if self.invitation.event_id == event.id else None
        if self.user is not None:
            return users.role_in(self.user, event)
        return API_KEY_ROLE

    @property
    def who(self) -> str:
        """How the activity log names him."""
        if self.invitation is not None:
            return self.invitation.name or self.invitation.id
        return "API key" if self.user is None else self.user.email

    @property
    def holder(self) -> str:
        """Whose staff links `room.accounts.users.staff_invitation` keeps."""
        return "api" if self.user is None else self.user.id


class Server(Protocol):
    """What the resolver needs of the running server (`signaling.context.Tribune`)."""

    store: Store
    tokens: Tokens


async def principal(request: web.Request, server: Server, door: Door) -> Principal:
    """The principal of a request through `door`, or `unauthorized` (`forbidden` for a
    cookie write without the CSRF header)."""
    header = request.headers.get("Authorization", "")
    if door is Door.STAFF:
        return await _staff(request, server, header)
    if door is Door.DASHBOARD and not header:
        return await _login(request, server.store)
    return Principal(await _api_key(server.store, header))


async def for_account(
    request: web.Request, server: Server, door: Door, action: Action
) -> Principal:
    """The principal, if he may do `action` on his account."""
    p = await principal(request, server, door)
    p.require_on_account(action)
    return p


async def for_owner(request: web.Request, server: Server, main: bool = False) -> Principal:
    """The account's owner (dashboard door), or `forbidden`; `main`: of a main account,
    not a secondary one (buying, cancelling, secondary accounts)."""
    p = await for_account(request, server, Door.DASHBOARD, Action.MANAGE_ACCOUNT)
    p.require_owner()
    if main:
        secondary.require_main(p.account)
    return p


async def for_event(
    request: web.Request, server: Server, door: Door, action: Action
) -> tuple[Principal, Event, Role]:
    """The event named in the path, if the principal may do `action` on it. Another
    account's event, or one a collaborator was not added to, is `not_found`."""
    p = await principal(request, server, door)
    event = await load_event(server.store, request.match_info["event_id"])
    role = p.role_in(event)
    if role is None:
        raise not_found("event")
    require(role, action)
    return p, event, role


async def person_of(store: Store, p: Principal, event: Event, role: Role) -> Person:
    """The principal as a person of the event, for the audit trail of what he does there:
    a link's holder as the roster has him, else a stand-in named after the credential."""
    if p.invitation is not None:
        inv = p.invitation
        person = await roster.get_person(store, event.id, inv.id)
        return person or roster.stand_in(inv, "", inv.role.value)
    if p.user is None:
        identity, name = f"account:{p.account.id}", p.account.name
    else:
        identity, name = f"user:{p.user.id}", p.user.name
    return Person(identity=identity, name=name, role=role, base_role=role, joined_at=now())


async def _api_key(store: Store, header: str) -> Account:
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key:
        raise TribuneError(Code.UNAUTHORIZED, "send the account's API key as a Bearer token")
    account = await account_by_key(store, key.strip())
    if account is None:
        raise TribuneError(Code.UNAUTHORIZED, "unknown API key")
    return account


async def _login(request: web.Request, store: Store) -> Principal:
    user = await logins.user_of_login(store, login_token(request))
    if user is None:
        raise TribuneError(Code.UNAUTHORIZED, "sign in first")
    if request.method not in ("GET", "HEAD"):
        require_csrf_header(request)
    return Principal(await get_account(store, user.account_id), user)


async def _staff(request: web.Request, server: Server, header: str) -> Principal:
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise TribuneError(
            Code.UNAUTHORIZED, "send the account's API key or a staff link token as a Bearer token"
        )
    account = await account_by_key(server.store, credential)
    if account is not None:
        return Principal(account)
    inv = await link_invitation(
        server.store, server.tokens, credential, request.match_info["event_id"]
    )
    # The same rule as every socket action: the link holds and its holder is not banned.
    await revocation.require_current(server.store, inv.event_id, revocation.holder(inv, inv.id, ""))
    event = await load_event(server.store, inv.event_id)
    return Principal(await get_account(server.store, event.account_id), invitation=inv)


# -- the login cookie --------------------------------------------------------------------------


def login_token(request: web.Request) -> str:
    return request.cookies.get(COOKIE, "")


def set_login_cookie(resp: web.StreamResponse, token: str, secure: bool) -> None:
    """Keep a new login in the browser; `secure` when the site is served over HTTPS."""
    resp.set_cookie(
        COOKIE,
        token,
        max_age=int(logins.LOGIN_TTL),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=secure,
    )


def clear_login_cookie(resp: web.StreamResponse) -> None:
    resp.del_cookie(COOKIE, path="/")
