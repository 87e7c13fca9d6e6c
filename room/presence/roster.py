"""Who is in an event and what each viewer sees of it: roster entries, the public index,
stand-ins for connections without a seat, and the room snapshot."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

import msgspec

from room import cas, changes, keys
from room.changes import Audience, Change, Payload
from room.errors import not_found
from room.permissions import PERMISSIONS, Action, can, is_staff
from room.presence import hands
from room.records import Event, Invitation, Person, PersonView, decode, now, to_wire
from room.store import Store
from room.types import EventKind, EventState, Role


def identity_of(inv: Invitation, device: str) -> str:
    """A personal link is one identity. A shared link is one identity per device only
    where no seat is taken (a stand-in on /manage or /screen): on /room the server issues
    a shared link's identities (`room.presence.identities`)."""
    if not inv.shared:
        return inv.id
    return inv.id + "." + hashlib.sha256(device.encode()).hexdigest()[:16]


def stand_in(inv: Invitation, device: str, name: str = "") -> Person:
    """The person a link names, for a connection that takes no seat (a manager page, a
    second screen) or a request that has none: never stored in the roster. The link's
    name wins over the one given; a nameless screen is called "Screen"."""
    return Person(
        identity=identity_of(inv, device),
        name=inv.name or name or "Screen",
        role=inv.role,
        base_role=inv.role,
        joined_at=now(),
    )


async def get_person(store: Store, event_id: str, identity: str) -> Person | None:
    raw = await store.hget(keys.roster(event_id), identity)
    return None if raw is None else decode(raw, Person)


async def require_person(store: Store, event_id: str, identity: str) -> Person:
    person = await get_person(store, event_id, identity)
    if person is None:
        raise not_found("person")
    return person


async def people(store: Store, event_id: str) -> list[Person]:
    """Everyone in the roster, in the order they joined."""
    found = [decode(v, Person) for v in (await store.hgetall(keys.roster(event_id))).values()]
    return sorted(found, key=lambda p: (p.joined_at, p.identity))


async def roster_count(store: Store, event_id: str) -> int:
    """People in the room, counting those inside their reconnect grace period."""
    return await store.hlen(keys.roster(event_id))


async def update_person(
    store: Store, event_id: str, identity: str, change: Callable[[Person], None]
) -> Person | None:
    """Change one roster entry with compare-and-set; None when the person is not in the roster."""
    done = await cas.update(
        store,
        keys.roster(event_id),
        identity,
        Person,
        change,
        missing=None,
        conflict="the person is being changed concurrently",
    )
    return None if done is None else done.after


def set_connected(value: bool) -> Callable[[Person], None]:
    def apply(p: Person) -> None:
        p.connected = value

    return apply


def is_public(role: Role) -> bool:
    return is_staff(role) or can(role, Action.PUBLISH)


async def index(store: Store, event_id: str, person: Person) -> None:
    """Keep the public index in step with the person's role."""
    if is_public(person.role):
        await store.hset(keys.public_roster(event_id), person.identity, b"")
    else:
        await store.hdel(keys.public_roster(event_id), person.identity)


async def roster_change(store: Store, event_id: str, name: str, person: Person) -> Change:
    """Staff see every roster change; the audience sees the stage people come and go."""
    seen = to_wire(person.view())
    payloads: dict[Audience, Payload] = {Audience.STAFF: {"person": seen}}
    if is_public(person.role):
        payloads[Audience.AUDIENCE] = {"person": dict(seen)}
    return await changes.record(store, Change(event_id=event_id, name=name, payloads=payloads))


def left_identity(change: Change) -> str | None:
    """Whose leaving for good a change tells, if it is a `roster.left`."""
    if change.name != "roster.left":
        return None
    return str(change.payloads[Audience.STAFF]["person"]["person"])


# -- views ------------------------------------------------------------------------


class EventView(msgspec.Struct):
    id: str
    title: str
    kind: EventKind
    state: EventState
    scheduled_start: float | None
    started_at: float | None
    ended_at: float | None


class YouView(PersonView):
    """A person as he sees himself: his roster view, then everything he may do."""

    can: list[str]


class RoomState(msgspec.Struct):
    """The snapshot of the room a client gets on connect or on a stale `sync`."""

    event: EventView
    you: YouView
    roster: list[PersonView]
    count: int
    hands: list[hands.Hand] | list[str]
    """Staff see who raised each hand and when; the audience the order of identities only."""
    rev: int


def event_view(event: Event) -> EventView:
    return EventView(
        id=event.id,
        title=event.title,
        kind=event.kind,
        state=event.state,
        scheduled_start=event.scheduled_start,
        started_at=event.started_at,
        ended_at=event.ended_at,
    )


@functools.cache
def _can(role: Role) -> tuple[str, ...]:
    """Everything `role` may do, sorted (the permission table is fixed: once per role)."""
    return tuple(sorted(a.value for a in PERMISSIONS[role]))


def you(person: Person) -> YouView:
    """A person as he sees himself: his roster view and everything he may do."""
    return YouView(**msgspec.structs.asdict(person.view()), can=list(_can(person.role)))


async def room_state(store: Store, event: Event, viewer: Person) -> RoomState:
    rev = await changes.current_rev(store, event.id)
    queue = await hands.hand_queue(store, event.id)
    shown: list[hands.Hand] | list[str]
    if is_staff(viewer.role):
        everyone = await people(store, event.id)
        count = len(everyone)
        by_id = {p.identity: p for p in everyone}
        shown = [hands.Hand(m, by_id[m].name if m in by_id else "", at) for m, at in queue]
    else:
        ids = list(await store.hgetall(keys.public_roster(event.id)))
        raws = await store.hmget(keys.roster(event.id), ids)
        everyone = sorted(
            (decode(r, Person) for r in raws if r is not None),
            key=lambda p: (p.joined_at, p.identity),
        )
        count = await roster_count(store, event.id)
        shown = [m for m, _ in queue]
    return RoomState(
        event=event_view(event),
        you=you(viewer),
        roster=[p.view() for p in everyone],
        count=count,
        hands=shown,
        rev=rev,
    )
