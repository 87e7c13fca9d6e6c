"""Signing in to the dashboard: password checks, login sessions, and one-time sign-in links.

A login is a random token kept by the browser in an HTTP-only cookie; the store
keeps only its SHA-256. A magic link is a one-time secret mailed to the user: it
is kept as a digest in the store and consuming it deletes it, so a second use is
refused (a signed token could not be made one-use). Attempts are limited per client
address by the edge with `room.ratelimit` (`RATES.login_per_ip`, `RATES.magic_*`);
wrong passwords slow the next attempts of their account (`check_password`).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets

import msgspec

from room import keys, ratelimit
from room.accounts import passwords
from room.accounts.users import User, get_user, set_password, user_by_email
from room.audience import letters
from room.audience.outbox import Outbox
from room.errors import Code, TribuneError
from room.records import decode, encode, now
from room.store import Store

LOGIN_TTL = 12 * 3600.0
MAGIC_TTL = 15 * 60.0


class LoginSession(msgspec.Struct):
    user_id: str
    created: float
    expires: float


class MagicLink(msgspec.Struct):
    user_id: str
    expires: float


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def verify_login(store: Store, email: str, password: str) -> User:
    """The user whose e-mail and password these are, or `unauthorized` (same for any cause)."""
    user = await user_by_email(store, email)
    hashed = user.password_hash if user is not None and user.password_hash else None
    good = await passwords.verify(hashed or passwords.dummy_hash(), password)
    if user is None or user.password_hash is None or not good:
        raise TribuneError(Code.UNAUTHORIZED, "wrong e-mail or password")
    if passwords.needs_rehash(user.password_hash):
        user = await set_password(store, user, password)
    return user


async def check_password(
    store: Store, email: str, password: str, backoff: ratelimit.Backoff
) -> User:
    """`verify_login`, slowed per account and never refused: after a few recent wrong
    passwords for this e-mail each attempt first waits (`backoff`: growing, capped), then
    is checked, so the owner still gets in while somebody guesses in his name. The same
    for an unknown e-mail, which therefore looks like any other. The right password
    forgets the failures."""
    scope = keys.login_email_scope(email)
    wait = await ratelimit.backoff_delay(store, scope, backoff)
    if wait > 0:
        await asyncio.sleep(wait)
    try:
        user = await verify_login(store, email, password)
    except TribuneError:
        await ratelimit.fail(store, scope, backoff)
        raise
    await ratelimit.forgive(store, scope)
    return user


async def open_login(store: Store, user: User, ttl: float = LOGIN_TTL) -> str:
    """A new login for `user`; the token goes into the cookie, only its digest is stored."""
    token = secrets.token_urlsafe(32)
    at = now()
    session = encode(LoginSession(user.id, at, at + ttl))
    await store.set(keys.login(_digest(token)), session, ttl=ttl)
    return token


async def user_of_login(store: Store, token: str) -> User | None:
    if not token or len(token) > 200:
        return None
    raw = await store.get(keys.login(_digest(token)))
    if raw is None:
        return None
    login = decode(raw, LoginSession)
    if login.expires <= now():
        await store.delete(keys.login(_digest(token)))
        return None
    user = await get_user(store, login.user_id)
    if user is None or login.created < user.logins_after:
        return None  # ended by a password change
    return user


async def change_password(store: Store, user: User, password: str, current: str) -> User:
    """Set a new password and end every other login of the user: the one making the change
    (`current`, its token) stays open."""
    at = now()
    key = keys.login(_digest(current))
    raw = await store.get(key) if current else None
    if raw is not None:
        login = decode(raw, LoginSession)
        if login.user_id == user.id and login.expires > at:
            session = encode(LoginSession(user.id, at, login.expires))
            await store.set(key, session, ttl=login.expires - at)
    return await set_password(store, user, password, end_logins_at=at)


async def close_login(store: Store, token: str) -> None:
    if token and len(token) <= 200:
        await store.delete(keys.login(_digest(token)))


async def issue_magic_link(store: Store, user: User, ttl: float = MAGIC_TTL) -> str:
    """A one-time sign-in token for `user`, valid `ttl` seconds."""
    token = secrets.token_urlsafe(32)
    link = encode(MagicLink(user.id, now() + ttl))
    await store.set(keys.magic_link(_digest(token)), link, ttl=ttl)
    return token


async def mail_magic_link(store: Store, outbox: Outbox, email: str, login_url: str) -> None:
    """Mail a one-time sign-in link to `email` if it has a login; nothing otherwise, and
    nothing tells the caller which."""
    user = await user_by_email(store, email)
    if user is None:
        return
    token = await issue_magic_link(store, user)
    subject, text = letters.magic_link(f"{login_url}#magic={token}")
    key = keys.magic_mail(_digest(token)[:32])
    await outbox.enqueue(key, user.email, subject, text)


async def consume_magic_link(store: Store, token: str) -> User:
    """Sign in with a magic link: it works once, and only before it expires."""
    refused = TribuneError(Code.UNAUTHORIZED, "this sign-in link has expired or was already used")
    if not token or len(token) > 200:
        raise refused
    key = keys.magic_link(_digest(token))
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
