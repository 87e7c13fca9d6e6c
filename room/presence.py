"""Who is in an event: admission with seats, connections, grace, roles, hands and removal.

Functions here return the `Change`s they made (already recorded with a revision);
the signaling layer fans them out. Nothing here touches the network.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from room import changes, keys, lifecycle, seats, stage
from room.accounts.account import get_account
from room.changes import Audience, Change
from room.errors import Code, TribuneError, not_found
from room.events import bindings_key, load_event
from room.permissions import PERMISSIONS, PROMOTABLE, Action, can, is_staff
from room.records import Account, Event, Invitation, Person, decode, encode, now
from room.store import SlotEntry, Store
from room.types import AccessMode, Role, SeatPool


def roster_key(event_id: str) -> str:
    return f"ev:{event_id}:roster"


def conns_key(event_id: str) -> str:
    return f"ev:{event_id}:conns"


def hands_key(event_id: str) -> str:
    return f"ev:{event_id}:hands"


def public_key(event_id: str) -> str:
    """Who everyone may see in the roster (organizer, presenters, collaborators): an index,
    so an attendee's snapshot does not decode the whole roster."""
    return f"ev:{event_id}:public"


def is_public(role: Role) -> bool:
    return is_staff(role) or can(role, Action.PUBLISH)


async def _index(store: Store, event_id: str, person: Person) -> None:
    if is_public(person.role):
        await store.hset(public_key(event_id), person.identity, b"")
    else:
        await store.hdel(public_key(event_id), person.identity)


def bans_key(event_id: str) -> str:
    return f"ev:{event_id}:bans"


def identity_of(inv: Invitation, device: str) -> str:
    """A personal link is one identity; a shared link is one identity per device."""
    if not inv.shared:
        return inv.id
    return inv.id + "." + hashlib.sha256(device.encode()).hexdigest()[:16]


async def get_person(store: Store, event_id: str, identity: str) -> Person | None:
    raw = await store.hget(roster_key(event_id), identity)
    return None if raw is None else decode(raw, Person)


async def require_person(store: Store, event_id: str, identity: str) -> Person:
    person = await get_person(store, event_id, identity)
    if person is None:
        raise not_found("person")
    return person


async def roster(store: Store, event_id: str) -> list[Person]:
    people = [decode(v, Person) for v in (await store.hgetall(roster_key(event_id))).values()]
    return sorted(people, key=lambda p: (p.joined_at, p.identity))


async def _update_person(
    store: Store, event_id: str, identity: str, change: Callable[[Person], None]
) -> Person | None:
    """Compare-and-set loop on one roster entry; None when the person is not in the roster."""
    for _ in range(50):
        raw = await store.hget(roster_key(event_id), identity)
        if raw is None:
            return None
        person = decode(raw, Person)
        change(person)
        if await store.hcas(roster_key(event_id), identity, raw, encode(person)):
            return person
    raise TribuneError(Code.CONFLICT, "the person is being changed concurrently")


class Admission:
    """The result of a successful join."""

    __slots__ = ("account", "changes", "event", "person")

    def __init__(self, event: Event, account: Account, person: Person, changes: list[Change]):
        self.event = event
        self.account = account
        self.person = person
        self.changes = changes


async def admit(
    store: Store,
    inv: Invitation,
    device: str,
    name: str,
    lease_ttl: float,
) -> Admission:
    """Seat an identity in its event, or refuse with a code (R-SEAT-1, R-ROLE-4)."""
    event = await load_event(store, inv.event_id)
    lifecycle.require_open(event)
    await _check_access(store, event, inv)
    identity = identity_of(inv, device)
    if await store.hget(bans_key(event.id), identity) is not None:
        raise TribuneError(Code.BANNED, "you were removed from this event")
    if inv.role is Role.PRESENTER and not inv.shared:
        bound = await store.hsetnx(bindings_key(event.id), inv.id, device.encode())
        if not bound and await store.hget(bindings_key(event.id), inv.id) != device.encode():
            raise TribuneError(
                Code.LINK_BOUND,
                "this presenter link is already in use on another device; "
                "ask the organizer to re-issue it",
            )
    account = await get_account(store, event.account_id)
    existing = await get_person(store, event.id, identity)
    role = existing.role if existing is not None else inv.role
    pool = seats.POOL_OF_ROLE[role]
    cap = seats.capacity(pool, event, account)
    hold = seats.holder(event.id, identity)
    # Set the deadline first: a reservation never exists without one, so a crash
    # between the two steps cannot leak a seat.
    await store.holder_touch([hold], now() + lease_ttl)
    if not await store.slot_reserve(seats.pool_key(event.id, pool), identity, cap, hold):
        if existing is None:
            await store.holder_release(hold)
        if pool is SeatPool.PRESENTER:
            raise TribuneError(Code.PRESENTER_SEATS_FULL, f"all {cap} presenter seats are taken")
        raise TribuneError(Code.ROOM_FULL, f"this event is full ({cap} seats)")
    chosen = (name or inv.name) if inv.shared else (inv.name or name)
    display = chosen.strip()[:200] or _guest_name(identity)
    if existing is not None:
        person = await _update_person(store, event.id, identity, _set_connected(True))
        if person is None:  # expired between the read and now: seat it afresh
            existing = None
    if existing is None:
        person = Person(
            identity=identity, name=display, role=role, base_role=inv.role, joined_at=now()
        )
        await store.hset(roster_key(event.id), identity, encode(person))
    assert person is not None
    await _index(store, event.id, person)
    change = await _roster_change(store, event.id, "roster.joined", person)
    return Admission(event, account, person, [change])


async def _check_access(store: Store, event: Event, inv: Invitation) -> None:
    """Registration and access-list events admit personal links (a registrant's, a
    listed guest's) and the direct-access link while it is enabled (R-REG-3), never
    another shared participant link."""
    if event.access_mode is AccessMode.OPEN or not inv.shared or inv.role is not Role.PARTICIPANT:
        return
    direct = await store.get(keys.direct_link(event.id))
    if direct is None or decode(direct, Invitation).id != inv.id:
        what = "registered" if event.access_mode is AccessMode.REGISTRATION else "listed"
        raise TribuneError(Code.FORBIDDEN, f"this event admits {what} attendees only")


def _guest_name(identity: str) -> str:
    return "Guest " + identity[-4:]


def _set_connected(value: bool) -> Callable[[Person], None]:
    def apply(p: Person) -> None:
        p.connected = value

    return apply


async def _roster_change(store: Store, event_id: str, name: str, person: Person) -> Change:
    """Staff see every roster change; the audience sees the stage people come and go."""
    payloads: dict[Audience, dict[str, Any]] = {Audience.STAFF: {"person": person.view()}}
    if is_public(person.role):
        payloads[Audience.AUDIENCE] = {"person": person.view()}
    return await changes.record(store, Change(event_id=event_id, name=name, payloads=payloads))


async def bind_connection(store: Store, event_id: str, identity: str, sid: str) -> str | None:
    """Make `sid` the identity's connection; returns the connection it replaces, if any."""
    old = await store.hswap(conns_key(event_id), identity, sid.encode())
    if old is None or old.decode() == sid:
        return None
    return old.decode()


async def connection_of(store: Store, event_id: str, identity: str) -> str | None:
    raw = await store.hget(conns_key(event_id), identity)
    return None if raw is None else raw.decode()


async def disconnected(
    store: Store, event_id: str, identity: str, sid: str, grace: float
) -> list[Change]:
    """The connection `sid` closed: if it was the current one, start the grace period."""
    if not await store.hcas(conns_key(event_id), identity, sid.encode(), None):
        return []  # replaced by a newer connection, or already removed
    await store.holder_touch([seats.holder(event_id, identity)], now() + grace)
    person = await _update_person(store, event_id, identity, _set_connected(False))
    if person is None:
        return []
    return [await _roster_change(store, event_id, "roster.updated", person)]


async def renew(store: Store, holders: list[str], lease_ttl: float) -> None:
    """Push back the deadline of connected holders (called periodically by each node)."""
    await store.holder_touch(holders, now() + lease_ttl)


async def expire(store: Store) -> list[Change]:
    """Release everything held by identities whose grace period (or node) ended."""
    out: list[Change] = []
    for hold, slots in await store.holder_expire(now()):
        event_id, identity = seats.split_holder(hold)
        out.extend(await _forget(store, event_id, identity, slots))
    return out


async def _forget(
    store: Store, event_id: str, identity: str, slots: list[SlotEntry]
) -> list[Change]:
    """Take an identity out of the event's roster, hand queue and (its slots being
    released already) tell the room if it left the stage."""
    raw = await store.hget(roster_key(event_id), identity)
    await store.hdel(roster_key(event_id), identity)
    await store.hdel(public_key(event_id), identity)
    await store.hdel(conns_key(event_id), identity)
    out: list[Change] = []
    if await store.zrem(hands_key(event_id), identity):
        out.append(await _hand_change(store, event_id))
    if any(stage.is_stage_pool(pool) for pool, _ in slots):
        out.append(await stage.announce(store, event_id))
    if raw is not None:
        out.append(await _roster_change(store, event_id, "roster.left", decode(raw, Person)))
    return out


# -- roles (R-ROLE-2) ---------------------------------------------------------------


async def set_role(
    store: Store, event_id: str, target_id: str, role: Role
) -> tuple[Person, list[Change]]:
    """Promote a participant to presenter or return a presenter to participant."""
    event = await load_event(store, event_id)
    account = await get_account(store, event.account_id)
    target = await require_person(store, event_id, target_id)
    if target.role is role:
        return target, []
    if can(target.role, Action.BE_PROTECTED) or role not in PROMOTABLE.get(target.role, ()):
        raise TribuneError(Code.FORBIDDEN, f"a {target.role.value} cannot be made {role.value}")
    hold = seats.holder(event_id, target_id)
    new_pool = seats.POOL_OF_ROLE[role]
    old_pool = seats.POOL_OF_ROLE[target.role]
    cap = seats.capacity(new_pool, event, account)
    if not await store.slot_reserve(seats.pool_key(event_id, new_pool), target_id, cap, hold):
        if new_pool is SeatPool.PRESENTER:
            raise TribuneError(Code.PRESENTER_SEATS_FULL, f"all {cap} presenter seats are taken")
        raise TribuneError(Code.ROOM_FULL, f"no {new_pool.value} seat is free ({cap} seats)")
    # A promoted participant keeps the attendee seat, so returning him never fails for room.
    if old_pool is SeatPool.PRESENTER:
        await store.slot_release(seats.pool_key(event_id, old_pool), target_id, hold)

    def apply(p: Person) -> None:
        p.role = role

    person = await _update_person(store, event_id, target_id, apply)
    if person is None:
        raise not_found("person")
    await _index(store, event_id, person)
    change = await changes.record(
        store,
        Change(
            event_id=event_id,
            name="role.changed",
            payloads={Audience.ALL: {"person": person.view()}},
        ),
    )
    return person, [change]


# -- hands ------------------------------------------------------------------------


async def hand_queue(store: Store, event_id: str) -> list[tuple[str, float]]:
    return await store.zrange(hands_key(event_id))


async def _hand_change(store: Store, event_id: str) -> Change:
    queue = await hand_queue(store, event_id)
    names = await store.hmget(roster_key(event_id), [m for m, _ in queue])
    staff = []
    for (member, at), raw in zip(queue, names, strict=True):
        name = decode(raw, Person).name if raw is not None else ""
        staff.append({"person": member, "name": name, "at": at})
    return await changes.record(
        store,
        Change(
            event_id=event_id,
            name="hand.queue",
            payloads={
                Audience.STAFF: {"queue": staff},
                Audience.AUDIENCE: {"queue": [m for m, _ in queue]},
            },
        ),
    )


async def raise_hand(store: Store, event_id: str, identity: str) -> list[Change]:
    if await store.zadd(hands_key(event_id), identity, now(), nx=True):
        return [await _hand_change(store, event_id)]
    return []


async def lower_hand(store: Store, event_id: str, identity: str) -> list[Change]:
    if await store.zrem(hands_key(event_id), identity):
        return [await _hand_change(store, event_id)]
    return []


async def next_hand(store: Store, event_id: str) -> tuple[Person | None, list[Change]]:
    """Take the oldest raised hand off the queue (staff), returning whose it was."""
    while True:
        popped = await store.zpopmin(hands_key(event_id))
        if popped is None:
            return None, []
        person = await get_person(store, event_id, popped[0])
        if person is not None:
            return person, [await _hand_change(store, event_id)]


# -- removal -----------------------------------------------------------------------


async def remove(
    store: Store, event_id: str, target_id: str, ban: bool
) -> tuple[str | None, list[Change]]:
    """Remove a person now (and ban him from this event); returns his connection to close."""
    target = await require_person(store, event_id, target_id)
    if can(target.role, Action.BE_PROTECTED):
        raise TribuneError(Code.FORBIDDEN, f"a {target.role.value} cannot be removed")
    if ban:
        await store.hset(bans_key(event_id), target_id, str(now()).encode())
    sid = await connection_of(store, event_id, target_id)
    slots = await store.holder_release(seats.holder(event_id, target_id))
    return sid, await _forget(store, event_id, target_id, slots)


# -- views ------------------------------------------------------------------------


async def room_state(store: Store, event: Event, viewer: Person) -> dict[str, Any]:
    """The snapshot a client gets on connect or when `sync` cannot replay what it missed."""
    rev = await changes.current_rev(store, event.id)
    queue = await hand_queue(store, event.id)
    hands: list[Any]
    if is_staff(viewer.role):
        people = await roster(store, event.id)
        count = len(people)
        by_id = {p.identity: p for p in people}
        hands = [
            {"person": m, "name": by_id[m].name if m in by_id else "", "at": at} for m, at in queue
        ]
    else:
        ids = list(await store.hgetall(public_key(event.id)))
        raws = await store.hmget(roster_key(event.id), ids)
        people = sorted(
            (decode(r, Person) for r in raws if r is not None),
            key=lambda p: (p.joined_at, p.identity),
        )
        count = await store.hlen(roster_key(event.id))
        hands = [m for m, _ in queue]
    return {
        "event": _event_view(event),
        "you": {**viewer.view(), "can": sorted(a.value for a in PERMISSIONS[viewer.role])},
        "roster": [p.view() for p in people],
        "count": count,
        "hands": hands,
        "rev": rev,
    }


def _event_view(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "title": event.title,
        "kind": event.kind.value,
        "state": event.state.value,
        "scheduled_start": event.scheduled_start,
        "started_at": event.started_at,
        "ended_at": event.ended_at,
    }


event_view = _event_view


async def roster_count(store: Store, event_id: str) -> int:
    """People in the room, counting those inside their reconnect grace period."""
    return await store.hlen(roster_key(event_id))
