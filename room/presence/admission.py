"""Admission into an event: seats, the event's access mode, bound links and bans; and
removal, which may ban."""

from __future__ import annotations

from dataclasses import dataclass

from room import keys, lifecycle, seats
from room.accounts.account import get_account
from room.accounts.limits import limits_of
from room.changes import Audience, Change
from room.errors import Code, TribuneError
from room.events import load_event
from room.permissions import PLACES, Action, audience_of, can, seat_pool
from room.presence import identities, leases, revocation, roster
from room.records import Account, Event, Invitation, Person, decode, encode, now
from room.store import Store
from room.types import AccessMode, SeatPool


@dataclass(frozen=True, slots=True)
class Admission:
    """The result of a successful join."""

    event: Event
    account: Account
    person: Person
    changes: list[Change]


async def admit(
    store: Store,
    inv: Invitation,
    device: str,
    name: str,
    lease_ttl: float,
    identity: str | None = None,
    address: str = "",
) -> Admission:
    """Seat an identity in its event, or refuse with a code (R-SEAT-1, R-ROLE-4).
    `identity`: the one the server issued to a shared link (`identities`); `address`:
    where the person joins from, kept for an address ban."""
    event = await load_event(store, inv.event_id)
    lifecycle.require_open(event)
    await _check_access(store, event, inv)
    if identity is None:
        identity = roster.identity_of(inv, device)
    if await store.hget(keys.bans(event.id), identity) is not None:
        raise TribuneError(Code.BANNED, "you were removed from this event")
    if inv.shared:
        await identities.seen(store, event.id, identity, address)
    if PLACES[inv.role].bound and not inv.shared:
        bound = await store.hsetnx(keys.bindings(event.id), inv.id, device.encode())
        if not bound and await store.hget(keys.bindings(event.id), inv.id) != device.encode():
            raise TribuneError(
                Code.LINK_BOUND,
                "this presenter link is already in use on another device; "
                "ask the organizer to re-issue it",
            )
    account = await get_account(store, event.account_id)
    existing = await roster.get_person(store, event.id, identity)
    role = existing.role if existing is not None else inv.role
    pool = seat_pool(role)
    cap = seats.capacity(pool, event, await limits_of(store, account))
    hold = seats.holder(event.id, identity)
    # Set the deadline first: a reservation never exists without one, so a crash
    # between the two steps cannot leak a seat.
    await store.holder_touch([hold], await store.now() + lease_ttl)  # the leases' one clock
    if not await store.slot_reserve(keys.seats(event.id, pool), identity, cap, hold):
        if existing is None:
            await store.holder_release(hold)
        if pool is SeatPool.PRESENTER:
            raise TribuneError(Code.PRESENTER_SEATS_FULL, f"all {cap} presenter seats are taken")
        raise TribuneError(Code.ROOM_FULL, f"this event is full ({cap} seats)")
    chosen = (name or inv.name) if inv.shared else (inv.name or name)
    display = chosen.strip()[:200] or _guest_name(identity)
    person: Person | None = None
    if existing is not None:
        person = await roster.update_person(store, event.id, identity, roster.set_connected(True))
    if person is None:  # new, or expired between the read and now: seat it afresh
        person = Person(
            identity=identity, name=display, role=role, base_role=inv.role, joined_at=now()
        )
        await store.hset(keys.roster(event.id), identity, encode(person))
    await roster.index(store, event.id, person)
    change = await roster.roster_change(store, event.id, "roster.joined", person)
    return Admission(event, account, person, [change])


async def _check_access(store: Store, event: Event, inv: Invitation) -> None:
    """Registration and access-list events admit personal links (a registrant's, a
    listed guest's) and the direct-access link while it is enabled (R-REG-3), never
    another shared link of the audience."""
    if (
        event.access_mode is AccessMode.OPEN
        or not inv.shared
        or audience_of(inv.role) is not Audience.AUDIENCE
    ):
        return
    direct = await store.get(keys.direct_link(event.id))
    if direct is None or decode(direct, Invitation).id != inv.id:
        what = "registered" if event.access_mode is AccessMode.REGISTRATION else "listed"
        raise TribuneError(Code.FORBIDDEN, f"this event admits {what} attendees only")


def _guest_name(identity: str) -> str:
    return "Guest " + identity[-4:]


async def remove(
    store: Store, event_id: str, target_id: str, ban: bool, address_ban: float = 0.0
) -> tuple[leases.Eviction | None, list[Change]]:
    """Remove a person now (and ban him from this event); returns his connection to close.
    A ban also refuses new identities to his address for `address_ban` seconds."""
    target = await roster.require_person(store, event_id, target_id)
    if can(target.role, Action.BE_PROTECTED):
        raise TribuneError(Code.FORBIDDEN, f"a {target.role.value} cannot be removed")
    if ban:
        await store.hset(keys.bans(event_id), target_id, str(now()).encode())
        await revocation.revoked(store, event_id)
        await identities.ban_address(store, event_id, target_id, address_ban)
    sid = await leases.connection_of(store, event_id, target_id)
    slots = await store.holder_release(seats.holder(event_id, target_id))
    items = await leases.forget(store, event_id, target_id, slots)
    if sid is None:
        return None, items
    await revocation.unregister(store, event_id, sid)  # told "removed", not also "revoked"
    eviction = leases.Eviction(sid, "removed", "banned" if ban else "removed", "you were removed")
    return eviction, items
