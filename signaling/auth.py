"""Who is asking: the one resolver of principals, and the one signer of link and download tokens.

Credentials, all resolved here:
- the account's API key, as `Authorization: Bearer <key>` (scripts);
- the dashboard's login cookie (HTTP-only, SameSite=Lax, Secure over HTTPS). Requests that
  change something with the cookie must carry `X-Requested-With: tribune`, which a page of
  another site cannot add without a CORS grant Tribune never gives;
- a link token (a JWT naming an invitation of one event): on a socket's connect, and as
  a Bearer credential on the staff routes of its event.

Each route says which it takes (`Door`), and asks `room.permissions` about its `Principal`.

Link tokens, identity tokens (a shared link's identity), download links and slide links
are signed here (HS256). Magic sign-in links are not: they must work once, which a
signature cannot enforce, so they stay random secrets kept as a digest in the store
(`room.accounts.logins`).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

import jwt
from aiohttp import web

from moderation.keys import DOWNLOAD_SECRET
from room import keys
from room.accounts import logins, users
from room.accounts.account import account_by_key, get_account
from room.errors import Code, TribuneError, not_found
from room.events import load_event, load_invitation
from room.permissions import API_KEY_ROLE, Action, require
from room.presence import roster
from room.records import Account, Event, Invitation, Person, now
from room.store import Store
from room.types import Role

DEFAULT_TTL = 90 * 24 * 3600.0
MIN_SECRET = 32
"""HS256 keys shorter than the hash output weaken the signature (RFC 7518 3.2)."""


@dataclass(frozen=True)
class Claims:
    event_id: str
    invitation: str
    role: Role
    gen: int


async def load_secret(store: Store, configured: str | None) -> str:
    """The configured secret, or one generated once and shared by every node through the store."""
    if configured:
        return configured
    await store.set_nx(keys.LINK_SECRET, secrets.token_urlsafe(32).encode())
    raw = await store.get(keys.LINK_SECRET)
    assert raw is not None
    return raw.decode()


class Tokens:
    def __init__(self, secret: str, ttl: float = DEFAULT_TTL) -> None:
        if len(secret.encode()) < MIN_SECRET:
            raise ValueError(f"the token secret must be at least {MIN_SECRET} bytes long")
        self._secret = secret
        self._ttl = ttl

    def sign(self, event_id: str, invitation: str, role: Role, gen: int) -> str:
        issued = int(time.time())
        payload = {
            "ev": event_id,
            "inv": invitation,
            "role": role.value,
            "gen": gen,
            "iat": issued,
            "exp": issued + int(self._ttl),
        }
        return jwt.encode(payload, self._secret, algorithm="HS256")

    def sign_invitation(self, inv: Invitation) -> str:
        """The token of an invitation's link, for its current generation."""
        return self.sign(inv.event_id, inv.id, inv.role, inv.gen)

    def verify(self, token: str) -> Claims:
        try:
            data = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                options={"require": ["exp", "ev", "inv", "role", "gen"]},
            )
            return Claims(
                event_id=str(data["ev"]),
                invitation=str(data["inv"]),
                role=Role(data["role"]),
                gen=int(data["gen"]),
            )
        except jwt.ExpiredSignatureError:
            raise TribuneError(Code.UNAUTHORIZED, "this link has expired") from None
        except (jwt.InvalidTokenError, ValueError, TypeError, KeyError):
            raise TribuneError(Code.UNAUTHORIZED, "this link is not valid") from None

    def sign_identity(self, event_id: str, invitation: str, identity: str) -> str:
        """The identity token of a shared link's identity (`room.presence.identities`),
        as long-lived as a link: the page presents it as `auth.identity` on reconnect."""
        issued = int(time.time())
        claims: dict[str, object] = {"use": "identity", "ev": event_id, "inv": invitation}
        claims |= {"id": identity, "iat": issued, "exp": issued + int(self._ttl)}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify_identity(self, token: str, inv: Invitation) -> str:
        """The identity an identity token names for the link `inv`, else `unauthorized`."""
        need = ["exp", "use", "ev", "inv", "id"]
        try:
            data = jwt.decode(token, self._secret, algorithms=["HS256"], options={"require": need})
        except jwt.InvalidTokenError:
            data = {}
        if (data.get("use"), data.get("ev"), data.get("inv")) != ("identity", inv.event_id, inv.id):
            raise TribuneError(Code.UNAUTHORIZED, "this identity token is not valid for this link")
        return str(data["id"])


# -- download links: short-lived signatures for one export of one event --------------------


async def _download_secret(store: Store) -> str:
    await store.set_nx(DOWNLOAD_SECRET, secrets.token_urlsafe(32).encode())
    raw = await store.get(DOWNLOAD_SECRET)
    assert raw is not None
    return raw.decode()


async def sign_download(store: Store, event_id: str, dataset: str, who: str, ttl: int) -> str:
    """A short-lived signature for one export of one event (the manager page's download link)."""
    issued = int(time.time())
    claims = {
        "ev": event_id,
        "ds": dataset,
        "by": who,
        "iat": issued,
        "exp": issued + ttl,
    }
    return jwt.encode(claims, await _download_secret(store), algorithm="HS256")


async def check_download(store: Store, event_id: str, dataset: str, sig: str) -> None:
    """Refuse unless `sig` is a live signature for this export of this event."""
    try:
        claims = jwt.decode(
            sig,
            await _download_secret(store),
            algorithms=["HS256"],
            options={"require": ["exp", "ev", "ds"]},
        )
    except jwt.ExpiredSignatureError:
        raise TribuneError(Code.UNAUTHORIZED, "this download link has expired") from None
    except jwt.InvalidTokenError:
        raise TribuneError(Code.UNAUTHORIZED, "this download link is not valid") from None
    if claims["ev"] != event_id or claims["ds"] != dataset:
        raise TribuneError(Code.FORBIDDEN, "this download link is for another export")


# -- slide links: a deck's signature, handed with the slide position --------------------------


async def sign_slides(store: Store, event_id: str, deck_id: str) -> str:
    """The signature of one deck's image links (`/slides/{event}/{deck}/{i}?sig=`). It is
    handed to everyone the event sends the slide position to, and lives as long as the deck
    (a new upload is a new deck): what it may read is `moderation.slides.readable`'s rule."""
    claims = {"use": "slides", "ev": event_id, "deck": deck_id, "iat": int(time.time())}
    return jwt.encode(claims, await _download_secret(store), algorithm="HS256")


async def check_slides(store: Store, event_id: str, deck_id: str, sig: str) -> None:
    """Refuse unless `sig` is the signature of this deck's image links."""
    try:
        claims = jwt.decode(
            sig,
            await _download_secret(store),
            algorithms=["HS256"],
            options={"require": ["use", "ev", "deck"]},
        )
    except jwt.InvalidTokenError:
        raise TribuneError(Code.UNAUTHORIZED, "this slide link is not valid") from None
    if claims["use"] != "slides" or claims["ev"] != event_id or claims["deck"] != deck_id:
        raise TribuneError(Code.FORBIDDEN, "this slide link is for another deck")


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
