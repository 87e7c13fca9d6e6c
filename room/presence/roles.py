"""Promotion and demotion live (R-ROLE-2): a participant made presenter and back, with seats."""

from __future__ import annotations

from room import changes, keys, seats
from room.accounts.limits import limits
from room.changes import Audience, Change
from room.errors import Code, TribuneError, not_found
from room.events import load_event
from room.permissions import PROMOTABLE, Action, can, seat_pool
from room.presence import roster
from room.records import Person, to_wire
from room.store import Store
from room.types import Role, SeatPool


async def set_role(
    store: Store, event_id: str, target_id: str, role: Role
) -> tuple[Person, list[Change]]:
    """Promote a participant to presenter or return a presenter to participant."""
    event = await load_event(store, event_id)
    target = await roster.require_person(store, event_id, target_id)
    if target.role is role:
        return target, []
    if can(target.role, Action.BE_PROTECTED) or role not in PROMOTABLE.get(target.role, ()):
        raise TribuneError(Code.FORBIDDEN, f"a {target.role.value} cannot be made {role.value}")
    hold = seats.holder(event_id, target_id)
    new_pool = seat_pool(role)
    old_pool = seat_pool(target.role)
    cap = seats.capacity(new_pool, event, await limits(store, event.account_id))
    if not await store.slot_reserve(keys.seats(event_id, new_pool), target_id, cap, hold):
        if new_pool is SeatPool.PRESENTER:
            raise TribuneError(Code.PRESENTER_SEATS_FULL, f"all {cap} presenter seats are taken")
        raise TribuneError(Code.ROOM_FULL, f"no {new_pool.value} seat is free ({cap} seats)")
    # A promoted participant keeps the attendee seat, so returning him never fails for room.
    if old_pool is SeatPool.PRESENTER:
        await store.slot_release(keys.seats(event_id, old_pool), target_id, hold)

    def apply(p: Person) -> None:
        p.role = role

    person = await roster.update_person(store, event_id, target_id, apply)
    if person is None:
        raise not_found("person")
    await roster.index(store, event_id, person)
    change = await changes.record(
        store,
        Change(
            event_id=event_id,
            name="role.changed",
            payloads={Audience.ALL: {"person": to_wire(person.view())}},
        ),
    )
    return person, [change]
