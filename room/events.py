"""Events of an account and the invitation links into them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import msgspec

from room import cas, credit_ledger, keys, lifecycle
from room.accounts.limits import Limits, limits_of
from room.errors import Code, TribuneError, invalid, not_found
from room.event_settings import EventSettings, SettingsChange, updated
from room.permissions import PLACES
from room.presence import revocation
from room.records import Account, Event, Invitation, decode, encode, new_id, now
from room.store import Store
from room.types import AccessMode, EventKind, EventState, Role

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Name = Annotated[str, msgspec.Meta(max_length=200)]
Email = Annotated[str, msgspec.Meta(max_length=320)]
ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
CreditCost = Annotated[int, msgspec.Meta(ge=0, le=credit_ledger.MAX_CREDIT_COST)]


class EventCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    kind: EventKind = EventKind.WEBINAR
    access_mode: AccessMode = AccessMode.OPEN
    capacity: int | None = None
    scheduled_start: float | None = None
    settings: SettingsChange = msgspec.field(default_factory=SettingsChange)
    client_id: ClientId | None = None
    """The client whose credits its registrations consume (the credits plan)."""
    credit_cost: CreditCost | None = None
    """Credits per registrant; default `credit_ledger.DEFAULT_CREDIT_COST`."""


class EventUpdate(msgspec.Struct, forbid_unknown_fields=True):
    title: Title | None = None
    kind: EventKind | None = None
    access_mode: AccessMode | None = None
    capacity: int | None = None
    scheduled_start: float | None = None
    settings: SettingsChange | None = None
    """The settings given replace those settings; the others stay as they are."""
    client_id: ClientId | None = None
    credit_cost: CreditCost | None = None


class InvitationCreate(msgspec.Struct, forbid_unknown_fields=True):
    role: Role
    name: Name = ""
    email: Email = ""
    shared: bool = False


def _check_capacity(limits: Limits, capacity: int) -> None:
    if capacity < 1 or capacity > limits.attendees:
        raise invalid(
            f"capacity must be between 1 and the plan's {limits.attendees} attendees",
            "capacity",
        )


def _check_certificates(limits: Limits, change: SettingsChange | None) -> None:
    """Certificates are enabled only with a plan that includes them or the certificates
    add-on (issue 11)."""
    certificate = None if change is None else change.certificate
    if certificate is not None and certificate.get("enabled") is True and not limits.certificates:
        raise TribuneError(
            Code.FORBIDDEN,
            "your plan does not include certificates: the account's owner can buy the "
            "certificates add-on (one year) on the Billing page",
        )


async def _check_client(store: Store, account: Account, client_id: str | None) -> None:
    """An event's client must be one of the account's (`not_found` names none other)."""
    if client_id is not None:
        try:
            await credit_ledger.load_client(store, account.id, client_id, now())
        except TribuneError as err:
            raise invalid("no such client in this account", "client_id") from err


async def create_event(store: Store, account: Account, fields: EventCreate) -> Event:
    limits = await limits_of(store, account)
    capacity = limits.attendees if fields.capacity is None else fields.capacity
    _check_capacity(limits, capacity)
    _check_certificates(limits, fields.settings)
    await _check_client(store, account, fields.client_id)
    cost = fields.credit_cost
    event = Event(
        id=new_id("ev"),
        account_id=account.id,
        title=fields.title.strip() or fields.title,
        kind=fields.kind,
        access_mode=fields.access_mode,
        capacity=capacity,
        scheduled_start=fields.scheduled_start,
        created=now(),
        settings=updated(EventSettings(), fields.settings),
        client_id=fields.client_id,
        credit_cost=credit_ledger.DEFAULT_CREDIT_COST if cost is None else cost,
    )
    await store.hset(keys.EVENTS, event.id, encode(event))
    await store.hset(keys.account_events(account.id), event.id, b"1")
    return event


async def load_event(store: Store, event_id: str) -> Event:
    raw = await store.hget(keys.EVENTS, event_id)
    if raw is None:
        raise not_found("event")
    return decode(raw, Event)


async def get_event(store: Store, account: Account, event_id: str) -> Event:
    """An account's own event; another tenant's event is `not_found`, never shown."""
    event = await load_event(store, event_id)
    if event.account_id != account.id:
        raise not_found("event")
    return event


async def list_events(store: Store, account: Account) -> list[Event]:
    ids = list(await store.hgetall(keys.account_events(account.id)))
    raws = await store.hmget(keys.EVENTS, ids)
    events = [decode(r, Event) for r in raws if r is not None]
    return sorted(events, key=lambda e: (e.scheduled_start or e.created, e.id))


async def change_event(store: Store, event_id: str, change: Callable[[Event], None]) -> Event:
    """Apply `change` to the stored event with compare-and-set."""
    done = await cas.update(
        store,
        keys.EVENTS,
        event_id,
        Event,
        change,
        missing=not_found("event"),
        conflict="the event is being changed too often; try again",
    )
    return done.after


async def update_event(store: Store, account: Account, event_id: str, fields: EventUpdate) -> Event:
    await get_event(store, account, event_id)
    limits = await limits_of(store, account)
    if fields.capacity is not None:
        _check_capacity(limits, fields.capacity)
    _check_certificates(limits, fields.settings)
    await _check_client(store, account, fields.client_id)

    def apply(event: Event) -> None:
        lifecycle.require_changeable(event)
        for name in EventUpdate.__struct_fields__:
            value = getattr(fields, name)
            if value is not None and name != "settings":
                setattr(event, name, value)
        if fields.settings is not None:
            event.settings = updated(event.settings, fields.settings)

    return await change_event(store, event_id, apply)


async def delete_event(store: Store, account: Account, event_id: str) -> None:
    event = await get_event(store, account, event_id)
    if event.state is EventState.LIVE:
        raise TribuneError(Code.CONFLICT, "end the event before deleting it")
    await store.hdel(keys.EVENTS, event_id)
    await store.hdel(keys.account_events(account.id), event_id)
    await store.delete(keys.invitations(event_id))
    await revocation.revoked(store, event_id)


# -- invitations -------------------------------------------------------------------


async def invite(store: Store, event: Event, fields: InvitationCreate) -> Invitation:
    if fields.shared and not PLACES[fields.role].shareable:
        raise invalid(f"an {fields.role.value} link cannot be shared", "shared")
    inv = Invitation(
        id=new_id("inv"),
        event_id=event.id,
        role=fields.role,
        name=fields.name.strip(),
        email=fields.email.strip(),
        shared=fields.shared,
        created=now(),
    )
    await store.hset(keys.invitations(event.id), inv.id, encode(inv))
    return inv


async def load_invitation(store: Store, event_id: str, inv_id: str) -> Invitation:
    raw = await store.hget(keys.invitations(event_id), inv_id)
    if raw is None:
        raise not_found("invitation")
    return decode(raw, Invitation)


async def list_invitations(store: Store, event_id: str) -> list[Invitation]:
    raws = (await store.hgetall(keys.invitations(event_id))).values()
    return sorted((decode(r, Invitation) for r in raws), key=lambda i: i.created)


async def reissue(store: Store, event: Event, inv_id: str) -> Invitation:
    """A new generation of the link: older tokens stop working and the device binding is cleared."""

    def next_generation(inv: Invitation) -> None:
        inv.gen += 1

    done = await cas.update(
        store,
        keys.invitations(event.id),
        inv_id,
        Invitation,
        next_generation,
        missing=not_found("invitation"),
        conflict="the invitation is being changed concurrently",
    )
    await store.hdel(keys.bindings(event.id), inv_id)
    await revocation.revoked(store, event.id)
    return done.after
