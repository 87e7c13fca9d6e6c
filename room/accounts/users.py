"""Dashboard users (organizers and collaborators): who they are, which events they see, and
the collaborators of each event (R-REG-4).

Their passwords are in `room.accounts.passwords`, their logins and sign-in links
in `room.accounts.logins`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from enum import StrEnum

import msgspec

from room import cas, keys
from room import events as ev
from room.accounts.passwords import hash_password
from room.audience import access, letters
from room.audience.outbox import Outbox
from room.audience.registration import normalize_email
from room.errors import Code, TribuneError, invalid, not_found
from room.permissions import API_KEY_ROLE
from room.presence import revocation
from room.records import Account, Event, Invitation, decode, encode, new_id, now
from room.store import Store
from room.types import Role


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
    logins_after: float = 0.0
    """Logins opened before this time are over (a password change ends the others)."""
    owner: bool = False
    """The main account's owner: the one user who buys and cancels (with the API key)."""

    def view(self) -> UserView:
        return UserView(
            id=self.id,
            email=self.email,
            name=self.name,
            kind=self.kind,
            has_password=self.password_hash is not None,
            events=list(self.events),
            owner=self.owner,
        )


class UserView(msgspec.Struct):
    """A user as the dashboard shows him: never his password hash."""

    id: str
    email: str
    name: str
    kind: UserKind
    has_password: bool
    events: list[str]
    owner: bool = False
    """The account's owner (he manages its users and secondary accounts)."""


# -- users ----------------------------------------------------------------------------


async def create_user(
    store: Store,
    account: Account,
    email: str,
    name: str,
    kind: UserKind,
    password: str | None = None,
    *,
    owner: bool = False,
) -> User:
    """A new user of the account; `owner`: the account's owner (`tribune account create
    --owner-email`, a secondary account's owner)."""
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
        owner=owner,
    )
    if not await store.hsetnx(keys.USER_EMAILS, email, user.id.encode()):
        raise TribuneError(Code.CONFLICT, f"a user with the e-mail {email} already exists", "email")
    await store.hset(keys.USERS, user.id, encode(user))
    await store.hset(keys.account_users(account.id), user.id, b"1")
    return user


async def get_user(store: Store, user_id: str) -> User | None:
    raw = await store.hget(keys.USERS, user_id)
    return None if raw is None else decode(raw, User)


async def user_by_email(store: Store, email: str) -> User | None:
    user_id = await store.hget(keys.USER_EMAILS, email.strip().lower())
    return None if user_id is None else await get_user(store, user_id.decode())


async def account_users(store: Store, account_id: str) -> list[User]:
    ids = list(await store.hgetall(keys.account_users(account_id)))
    raws = await store.hmget(keys.USERS, ids)
    users = [decode(r, User) for r in raws if r is not None]
    return sorted(users, key=lambda u: (u.created, u.id))


async def _change_user(store: Store, user_id: str, change: Callable[[User], None]) -> User:
    done = await cas.update(
        store,
        keys.USERS,
        user_id,
        User,
        change,
        missing=not_found("user"),
        conflict="the user is being changed concurrently; try again",
    )
    return done.after


async def set_password(
    store: Store, user: User, password: str, *, end_logins_at: float | None = None
) -> User:
    """A new password hash; with `end_logins_at`, every login opened before then ends."""
    hashed = await hash_password(password)

    def apply(u: User) -> None:
        u.password_hash = hashed
        if end_logins_at is not None:
            u.logins_after = end_logins_at

    return await _change_user(store, user.id, apply)


async def remove_user(store: Store, account: Account, user_id: str) -> list[str]:
    """Remove a user of the account (the owner does, R: multi-users): his record goes, so
    every login and sign-in link of his ends at once, and his staff links into the
    account's events are withdrawn. The owner user cannot be removed. Returns the events
    whose connections the edge must re-check (`room.presence.revocation`)."""
    user = await get_user(store, user_id)
    if user is None or user.account_id != account.id:
        raise not_found("user")
    if user.owner:
        raise invalid("the account's owner cannot be removed", "user_id")
    touched = await forget_user(store, user)
    for event_id in touched:
        await revocation.revoked(store, event_id)
    return touched


async def forget_user(store: Store, user: User) -> list[str]:
    """Delete a user's record, e-mail, membership, collaborations and staff links; the
    events he had a staff link or a collaboration in."""
    touched: list[str] = []
    for event_id in await store.hgetall(keys.account_events(user.account_id)):
        link = await store.hget(keys.staff_links(event_id), user.id)
        if link is not None:
            await store.hdel(keys.invitations(event_id), link.decode())
            await store.hdel(keys.staff_links(event_id), user.id)
        if await store.hdel(keys.collaborators(event_id), user.id) or link is not None:
            touched.append(event_id)
    await store.hdel(keys.USERS, user.id)
    await store.hcas(keys.USER_EMAILS, user.email, user.id.encode(), None)
    await store.hdel(keys.account_users(user.account_id), user.id)
    return touched


def role_in(user: User, event: Event) -> Role | None:
    """The user's role for one event, or None when he has no business there."""
    if user.account_id != event.account_id:
        return None
    if user.kind is UserKind.COLLABORATOR and event.id not in user.events:
        return None
    return ROLE_OF_KIND[user.kind]


def is_owner(user: User | None) -> bool:
    """Whether the account's API key (`user` None) or this dashboard user is the owner:
    only the owner buys, cancels and manages secondary accounts and multi-users."""
    return user is None or user.owner


def account_role(user: User) -> Role:
    """The role whose permissions decide the account-level pages."""
    return ROLE_OF_KIND[user.kind]


async def visible_events(
    store: Store, account: Account, user: User | None
) -> list[tuple[Event, Role]]:
    """The events the account's API key (`user` None) or a dashboard user may open, each
    with his role there, in the order they start."""
    if user is None:
        return [(event, API_KEY_ROLE) for event in await ev.list_events(store, account)]
    if user.kind is UserKind.ORGANIZER:
        listed = await ev.list_events(store, account)
    else:
        listed = []
        for event_id in user.events:
            with contextlib.suppress(TribuneError):  # deleted since he was added
                listed.append(await ev.load_event(store, event_id))
    out = [(event, role) for event in listed if (role := role_in(user, event)) is not None]
    return sorted(out, key=lambda x: (x[0].scheduled_start or x[0].created, x[0].id))


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
    await store.hset(keys.collaborators(event.id), user.id, b"1")
    return user


async def invite_collaborator(
    store: Store,
    outbox: Outbox,
    account: Account,
    event: Event,
    email: str,
    name: str,
    by: str,
    login_url: str,
) -> User:
    """Add a collaborator to one event, note it in the event's activity log (`by` did it),
    and mail him where to sign in."""
    user = await add_collaborator(store, account, event, email, name)
    await access.log(store, event.id, by, "collaborator.added", user.email)
    subject, text = letters.collaborator_added(event, user.name, login_url)
    await outbox.enqueue(keys.collaborator_mail(event.id, user.id), user.email, subject, text)
    return user


async def remove_collaborator(store: Store, event: Event, user_id: str, by: str) -> None:
    """Take one event away from a collaborator, noted in the event's activity log. His
    staff link into the event is withdrawn: it opens nothing any more, and his open
    connections are closed by the edge's sweep (`room.presence.revocation`)."""
    if not await store.hdel(keys.collaborators(event.id), user_id):
        raise not_found("collaborator")
    link = await store.hget(keys.staff_links(event.id), user_id)
    if link is not None:
        await store.hdel(keys.invitations(event.id), link.decode())
        await store.hdel(keys.staff_links(event.id), user_id)
    await revocation.revoked(store, event.id)

    def apply(u: User) -> None:
        if event.id in u.events:
            u.events.remove(event.id)

    await _change_user(store, user_id, apply)
    await access.log(store, event.id, by, "collaborator.removed", user_id)


async def collaborators(store: Store, event_id: str) -> list[User]:
    ids = list(await store.hgetall(keys.collaborators(event_id)))
    raws = await store.hmget(keys.USERS, ids)
    return [decode(r, User) for r in raws if r is not None]


# -- the staff's own links ---------------------------------------------------------------


async def staff_invitation(
    store: Store, event: Event, holder: str, role: Role, name: str, email: str
) -> Invitation:
    """The personal invitation a dashboard user (or the API key, `holder`="api") opens the
    room, manager and screen pages with: made once, then reused."""
    known = await store.hget(keys.staff_links(event.id), holder)
    if known is not None:
        raw = await store.hget(keys.invitations(event.id), known.decode())
        if raw is not None:
            inv = decode(raw, Invitation)
            if inv.role is role:
                return inv
    inv = await ev.invite(
        store, event, ev.InvitationCreate(role=role, name=name[:200], email=email[:320])
    )
    if await store.hcas(keys.staff_links(event.id), holder, known, inv.id.encode()):
        return inv
    await store.hdel(keys.invitations(event.id), inv.id)  # a concurrent request won
    return await staff_invitation(store, event, holder, role, name, email)
