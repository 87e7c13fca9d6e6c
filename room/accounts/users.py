"""Dashboard users (organizers and collaborators), their logins and sign-in links (R-REG-4).

Passwords are hashed with Argon2id (argon2-cffi) and never stored or logged in
clear. A login is a random token kept by the browser in an HTTP-only cookie;
the store keeps only its SHA-256. A magic link is a one-time token: consuming
it deletes it, so the second use is refused. Attempts are counted per e-mail
and per address in fixed windows to slow brute force (`rate_limited`).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable
from enum import StrEnum
from functools import cache

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from room import events as ev
from room import keys
from room.audience.registration import normalize_email
from room.errors import Code, TribuneError, invalid, not_found
from room.records import Account, Event, Invitation, decode, encode, new_id, now
from room.store import Store
from room.types import Role

LOGIN_TTL = 12 * 3600.0
MAGIC_TTL = 15 * 60.0
MIN_PASSWORD = 10
MAX_PASSWORD = 256

USERS = "users"
USER_EMAILS = "users:email"


class UserKind(StrEnum):
    """What a user is on the account: an organizer (all events) or a collaborator (some)."""

    ORGANIZER = "organizer"
    COLLABORATOR = "collaborator"


ROLE_OF_KIND: dict[UserKind, Role] = {
    UserKind.ORGANIZER: Role.ORGANIZER,
    UserKind.COLLABORATOR: Role.COLLABORATOR,
}


class User(msgspec.Struct):
    id: str
    account_id: str
    email: str
    name: str
    kind: UserKind
    password_hash: str | None = None
    events: list[str] = msgspec.field(default_factory=list)
    """For a collaborator: the events he was added to."""
    created: float = 0.0

    def view(self) -> dict[str, object]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "kind": self.kind.value,
            "has_password": self.password_hash is not None,
            "events": list(self.events),
        }


class LoginSession(msgspec.Struct):
    user_id: str
    created: float
    expires: float


class MagicLink(msgspec.Struct):
    user_id: str
    expires: float


def account_users_key(account_id: str) -> str:
    return f"acc:{account_id}:users"


def collaborators_key(event_id: str) -> str:
    return f"ev:{event_id}:collabs"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so timing does not tell who has an account."""
    return _hasher().hash(secrets.token_urlsafe(16))


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise invalid(f"the password needs at least {MIN_PASSWORD} characters", "password")
    if len(password) > MAX_PASSWORD:
        raise invalid(f"the password has more than {MAX_PASSWORD} characters", "password")


async def hash_password(password: str) -> str:
    check_password_rules(password)
    return await asyncio.to_thread(_hasher().hash, password)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher().verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# -- users ----------------------------------------------------------------------------


async def create_user(
    store: Store,
    account: Account,
    email: str,
    name: str,
    kind: UserKind,
    password: str | None = None,
) -> User:
    email = normalize_email(email)
    name = name.strip()[:200] or email.split("@", 1)[0]
    hashed = await hash_password(password) if password else None
    user = User(
        id=new_id("usr"),
        account_id=account.id,
        email=email,
        name=name,
        kind=kind,
        password_hash=hashed,
        created=now(),
    )
    if not await store.hsetnx(USER_EMAILS, email, user.id.encode()):
        raise TribuneError(Code.CONFLICT, f"a user with the e-mail {email} already exists", "email")
    await store.hset(USERS, user.id, encode(user))
    await store.hset(account_users_key(account.id), user.id, b"1")
    return user


async def get_user(store: Store, user_id: str) -> User | None:
    raw = await store.hget(USERS, user_id)
    return None if raw is None else decode(raw, User)


async def user_by_email(store: Store, email: str) -> User | None:
    user_id = await store.hget(USER_EMAILS, email.strip().lower())
    return None if user_id is None else await get_user(store, user_id.decode())


async def account_users(store: Store, account_id: str) -> list[User]:
    ids = list(await store.hgetall(account_users_key(account_id)))
    raws = await store.hmget(USERS, ids)
    users = [decode(r, User) for r in raws if r is not None]
    return sorted(users, key=lambda u: (u.created, u.id))


async def _change_user(store: Store, user_id: str, change: Callable[[User], None]) -> User:
    for _ in range(50):
        raw = await store.hget(USERS, user_id)
        if raw is None:
            raise not_found("user")
        user = decode(raw, User)
        change(user)
        if await store.hcas(USERS, user_id, raw, encode(user)):
            return user
    raise TribuneError(Code.CONFLICT, "the user is being changed concurrently; try again")


async def set_password(store: Store, user: User, password: str) -> User:
    hashed = await hash_password(password)

    def apply(u: User) -> None:
        u.password_hash = hashed

    return await _change_user(store, user.id, apply)


def role_in(user: User, event: Event) -> Role | None:
    """The user's role for one event, or None when he has no business there."""
    if user.account_id != event.account_id:
        return None
    if user.kind is UserKind.COLLABORATOR and event.id not in user.events:
        return None
    return ROLE_OF_KIND[user.kind]


def account_role(user: User) -> Role:
    """The role whose permissions decide the account-level pages."""
    return ROLE_OF_KIND[user.kind]


async def add_collaborator(
    store: Store, account: Account, event: Event, email: str, name: str
) -> User:
    """Give a person the collaborator pages of one event (creating his login if needed)."""
    user = await user_by_email(store, normalize_email(email))
    if user is None:
        try:
            user = await create_user(store, account, email, name, UserKind.COLLABORATOR)
        except TribuneError as err:
            if err.code is not Code.CONFLICT:
                raise
            user = await user_by_email(store, normalize_email(email))
            assert user is not None
    if user.account_id != account.id:
        raise TribuneError(Code.CONFLICT, "this e-mail belongs to another account", "email")
    if user.kind is not UserKind.COLLABORATOR:
        raise invalid("this person already organizes every event of the account", "email")

    def apply(u: User) -> None:
        if event.id not in u.events:
            u.events.append(event.id)

    user = await _change_user(store, user.id, apply)
    await store.hset(collaborators_key(event.id), user.id, b"1")
    return user


async def remove_collaborator(store: Store, event: Event, user_id: str) -> None:
    if not await store.hdel(collaborators_key(event.id), user_id):
        raise not_found("collaborator")

    def apply(u: User) -> None:
        if event.id in u.events:
            u.events.remove(event.id)

    await _change_user(store, user_id, apply)


async def collaborators(store: Store, event_id: str) -> list[User]:
    ids = list(await store.hgetall(collaborators_key(event_id)))
    raws = await store.hmget(USERS, ids)
    return [decode(r, User) for r in raws if r is not None]


# -- logins --------------------------------------------------------------------------------


async def verify_login(store: Store, email: str, password: str) -> User:
    """The user whose e-mail and password these are, or `unauthorized` (same for any cause)."""
    user = await user_by_email(store, email)
    hashed = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    good = await asyncio.to_thread(_verify, hashed, password[:MAX_PASSWORD])
    if user is None or user.password_hash is None or not good:
        raise TribuneError(Code.UNAUTHORIZED, "wrong e-mail or password")
    if _hasher().check_needs_rehash(user.password_hash):
        user = await set_password(store, user, password)
    return user


def _login_key(token: str) -> str:
    return f"login:{_digest(token)}"


async def open_login(store: Store, user: User, ttl: float = LOGIN_TTL) -> str:
    """A new login for `user`; the token goes into the cookie, only its digest is stored."""
    token = secrets.token_urlsafe(32)
    at = now()
    await store.set(_login_key(token), encode(LoginSession(user.id, at, at + ttl)))
    return token


async def user_of_login(store: Store, token: str) -> User | None:
    if not token or len(token) > 200:
        return None
    raw = await store.get(_login_key(token))
    if raw is None:
        return None
    login = decode(raw, LoginSession)
    if login.expires <= now():
        await store.delete(_login_key(token))
        return None
    return await get_user(store, login.user_id)


async def close_login(store: Store, token: str) -> None:
    if token and len(token) <= 200:
        await store.delete(_login_key(token))


def _magic_key(token: str) -> str:
    return f"magic:{_digest(token)}"


async def issue_magic_link(store: Store, user: User, ttl: float = MAGIC_TTL) -> str:
    """A one-time sign-in token for `user`, valid `ttl` seconds."""
    token = secrets.token_urlsafe(32)
    await store.set(_magic_key(token), encode(MagicLink(user.id, now() + ttl)))
    return token


async def consume_magic_link(store: Store, token: str) -> User:
    """Sign in with a magic link: it works once, and only before it expires."""
    refused = TribuneError(Code.UNAUTHORIZED, "this sign-in link has expired or was already used")
    if not token or len(token) > 200:
        raise refused
    key = _magic_key(token)
    raw = await store.get(key)
    # Whoever deletes it uses it: two simultaneous uses cannot both succeed.
    if raw is None or await store.delete(key) != 1:
        raise refused
    link = decode(raw, MagicLink)
    if link.expires <= now():
        raise refused
    user = await get_user(store, link.user_id)
    if user is None:
        raise refused
    return user


# -- the staff's own links ---------------------------------------------------------------


def staff_links_key(event_id: str) -> str:
    return f"ev:{event_id}:staffinv"


async def staff_invitation(
    store: Store, event: Event, holder: str, role: Role, name: str, email: str
) -> Invitation:
    """The personal invitation a dashboard user (or the API key, `holder`="api") opens the
    room, manager and screen pages with: made once, then reused."""
    known = await store.hget(staff_links_key(event.id), holder)
    if known is not None:
        raw = await store.hget(keys.invitations(event.id), known.decode())
        if raw is not None:
            inv = decode(raw, Invitation)
            if inv.role is role:
                return inv
    inv = await ev.invite(
        store, event, ev.InvitationCreate(role=role, name=name[:200], email=email[:320])
    )
    if await store.hcas(staff_links_key(event.id), holder, known, inv.id.encode()):
        return inv
    await store.hdel(keys.invitations(event.id), inv.id)  # a concurrent request won
    return await staff_invitation(store, event, holder, role, name, email)
