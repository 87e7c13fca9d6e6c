"""Registration to an event: the organizer's custom fields, one registration per e-mail (R-REG-1).

The fields live in `event.settings.registration_fields`; a registration
gives the registrant a personal participant invitation (his join link), which
`register_and_mail` mails him. The store's `hsetnx` on the e-mail makes "one
per e-mail" hold under any concurrency, on every backend. A form sent with a client id
(`cid`) and sent again (a lost answer, a double click) answers the registration the
first try made (`room.client_ids`) instead of `conflict`.

An event of a client (the credits plan) consumes its cost per registrant from the client's
balance before the registration is written (`room.credit_ledger.consume`, atomic: never
below zero, once per e-mail as the registration is), or refuses it with
`insufficient_credits`; a retry or a duplicate consumes nothing more.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable
from typing import Annotated

import msgspec
from msgspec import UNSET

from room import client_ids, credit_ledger, keys, lifecycle
from room import events as ev
from room.audience import letters
from room.audience.listing import ordered_pages
from room.audience.outbox import Outbox
from room.client_ids import Cid
from room.errors import Code, TribuneError, invalid
from room.event_settings import FieldKind, RegistrationField
from room.permissions import REGISTRANT_ROLE
from room.records import Event, Invitation, decode, encode, new_id, now
from room.store import Store
from room.types import AccessMode, EventKind, EventState

MAX_ANSWER = 2000
PAGE = 1000

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
PersonName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]

_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


class RegistrationForm(msgspec.Struct, forbid_unknown_fields=True):
    """What the public registration page sends."""

    email: Email
    name: PersonName
    answers: dict[str, str | bool] = msgspec.field(default_factory=dict)
    cid: Cid | None = None
    """The page's id for this registration: sent again, it answers the first try's."""


class Registration(msgspec.Struct):
    id: str
    event_id: str
    email: str
    name: str
    answers: dict[str, str | bool]
    invitation_id: str
    created: float


def normalize_email(value: str, field: str = "email") -> str:
    """Trimmed and lower-cased; refuses what is plainly not an address."""
    email = value.strip().lower()
    if len(email) > 320 or not _EMAIL.match(email):
        raise invalid(f"{value.strip()[:80]!r} is not a valid e-mail address", field)
    return email


def fields_of(event: Event) -> list[RegistrationField]:
    fields = event.settings.registration_fields
    return [] if fields is UNSET else fields


def certificate_enabled(event: Event) -> bool:
    """Certificates are for registration events whose organizer turned them on (R-CERT)."""
    cert = event.settings.certificate
    return event.access_mode is AccessMode.REGISTRATION and cert is not UNSET and cert.enabled


def check_answers(
    fields: list[RegistrationField], answers: dict[str, str | bool]
) -> dict[str, str | bool]:
    """The answers, cleaned, or `invalid` naming the first field at fault."""
    known = {f.id: f for f in fields}
    for key in answers:
        if key not in known:
            raise invalid(f"unknown field {key[:40]!r}", f"answers.{key[:40]}")
    out: dict[str, str | bool] = {}
    for f in fields:
        value = answers.get(f.id)
        where = f"answers.{f.id}"
        if f.kind is FieldKind.CHECKBOX:
            if value is None:
                value = False
            if not isinstance(value, bool):
                raise invalid(f"{f.label}: tick or untick the box", where)
            if f.required and not value:
                raise invalid(f"{f.label}: this box must be ticked", where)
            out[f.id] = value
            continue
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise invalid(f"{f.label}: expected text", where)
        value = value.strip()
        if len(value) > MAX_ANSWER:
            raise invalid(f"{f.label}: at most {MAX_ANSWER} characters", where)
        if not value:
            if f.required:
                raise invalid(f"{f.label} is required", where)
            out[f.id] = ""
            continue
        if f.kind is FieldKind.CHOICE and value not in f.choices:
            raise invalid(f"{f.label}: choose one of the offered answers", where)
        out[f.id] = value
    return out


class PublicEvent(msgspec.Struct):
    id: str
    title: str
    kind: EventKind
    state: EventState
    scheduled_start: float | None


class PublicForm(msgspec.Struct):
    """What the public registration page shows (nothing private of the organizer)."""

    event: PublicEvent
    open: bool
    fields: list[RegistrationField]
    certificate: bool


def public_form(event: Event) -> PublicForm:
    return PublicForm(
        event=PublicEvent(event.id, event.title, event.kind, event.state, event.scheduled_start),
        open=event.access_mode is AccessMode.REGISTRATION and not lifecycle.is_ended(event),
        fields=fields_of(event),
        certificate=certificate_enabled(event),
    )


async def register(
    store: Store, event: Event, form: RegistrationForm
) -> tuple[Registration, Invitation]:
    """Register one person; a second registration with the same e-mail is `conflict`,
    unless it is a retry (the same `cid`): that answers the first registration."""
    if event.access_mode is not AccessMode.REGISTRATION:
        raise TribuneError(Code.FORBIDDEN, "this event does not take registrations")
    lifecycle.require_open(event)
    email = normalize_email(form.email)
    name = form.name.strip()
    if not name:
        raise invalid("your name is required", "name")
    answers = check_answers(fields_of(event), form.answers)
    cids = keys.registration_cids(event.id)
    if await store.hget(keys.registrations(event.id), email) is not None:
        # A try with this cid reserves it before it writes the registration: a registration
        # that exists is this cid's first try's only if the reservation names it.
        if form.cid is not None and (reserved := await store.hget(cids, f"{form.cid}:{email}")):
            if (first := await _made(store, event, email, reserved.decode())) is not None:
                return first
        raise already_registered()
    # The order entry goes first and names the registration: a loser's or a crashed
    # writer's entry matches no record and is skipped when listing. A retry's id is the
    # first try's (reserved after that try's entry), so a retry needs no entry of its own.
    fresh = new_id("reg")
    await store.rpush(keys.registration_order(event.id), f"{email}\n{fresh}".encode())
    reg_id, _ = await client_ids.claim(store, cids, form.cid, email, fresh)
    await credit_ledger.consume(store, event, reg_id, email, now())
    inv = await ev.invite(
        store, event, ev.InvitationCreate(role=REGISTRANT_ROLE, name=name, email=email)
    )
    reg = Registration(
        id=reg_id,
        event_id=event.id,
        email=email,
        name=name,
        answers=answers,
        invitation_id=inv.id,
        created=now(),
    )
    if not await store.hsetnx(keys.registrations(event.id), email, encode(reg)):
        await store.hdel(keys.invitations(event.id), inv.id)
        if (first := await _made(store, event, email, reg_id)) is not None:
            return first  # a simultaneous retry made it (and paid once for both)
        raise already_registered()
    return reg, inv


async def _made(
    store: Store, event: Event, email: str, reg_id: str
) -> tuple[Registration, Invitation] | None:
    """The registration of `email` if it is the one with id `reg_id`, and its invitation."""
    reg = await get(store, event.id, email)
    if reg is None or reg.id != reg_id:
        return None
    return reg, await ev.load_invitation(store, event.id, reg.invitation_id)


async def register_and_mail(
    store: Store,
    outbox: Outbox,
    event: Event,
    form: RegistrationForm,
    link_of: Callable[[Invitation], str],
) -> tuple[Registration, str]:
    """Register one person and mail him his personal link (`link_of` signs it); returns
    the registration and the link.

    A second registration with the same e-mail is refused (`conflict`), and the link
    of the first is mailed to that address again, at most once an hour: whoever lost
    his link gets it back, and nobody can make the form flood an inbox."""
    certificate = certificate_enabled(event)
    try:
        reg, inv = await register(store, event, form)
    except TribuneError as err:
        if err.code is Code.CONFLICT:
            await _mail_again(store, outbox, event, form.email, link_of, certificate)
        raise
    link = link_of(inv)
    subject, text = letters.registered(event, reg.name, link, certificate)
    await outbox.enqueue(keys.registered_mail(event.id, reg.email), reg.email, subject, text)
    return reg, link


async def _mail_again(
    store: Store,
    outbox: Outbox,
    event: Event,
    email: str,
    link_of: Callable[[Invitation], str],
    certificate: bool,
) -> None:
    existing = await get(store, event.id, email)
    if existing is None:
        return
    with contextlib.suppress(TribuneError):  # his link was withdrawn: nothing to send
        again = await ev.load_invitation(store, event.id, existing.invitation_id)
        subject, text = letters.registered(event, existing.name, link_of(again), certificate)
        hour = int(now() // 3600)
        await outbox.enqueue(
            keys.registered_again_mail(event.id, existing.email, hour),
            existing.email,
            subject,
            text,
        )


def already_registered() -> TribuneError:
    return TribuneError(
        Code.CONFLICT,
        "this e-mail address is already registered for this event; "
        "your personal link has been sent to it again",
        "email",
    )


async def get(store: Store, event_id: str, email: str) -> Registration | None:
    raw = await store.hget(keys.registrations(event_id), email.strip().lower())
    return None if raw is None else decode(raw, Registration)


async def count(store: Store, event_id: str) -> int:
    return await store.hlen(keys.registrations(event_id))


async def pages(
    store: Store, event_id: str, page: int = PAGE, start: int = 0
) -> AsyncIterator[list[Registration]]:
    """Registrations in the order they were made, `page` at a time."""
    async for regs in ordered_pages(
        store,
        keys.registration_order(event_id),
        keys.registrations(event_id),
        Registration,
        lambda r, reg_id: r.id == reg_id,
        page,
        start,
    ):
        yield regs


async def all_registrations(store: Store, event_id: str) -> list[Registration]:
    out: list[Registration] = []
    async for page in pages(store, event_id):
        out.extend(page)
    return out
