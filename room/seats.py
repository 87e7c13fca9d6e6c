"""Each seat pool's capacity from the limits in effect, the pool keys and the lease holder
of an identity.

Which pool a role sits in is asked of the permission table (`permissions.seat_pool`)."""

from __future__ import annotations

from room.accounts.limits import Limits
from room.records import Event
from room.types import SeatPool


def capacity(pool: SeatPool, event: Event, limits: Limits) -> int | None:
    """The most members the pool may hold; None means unlimited.

    The organizer's seat is always available (R-ROLE-1) and screens are read-only
    devices of the staff, so neither counts against anything.
    `limits`: the plan plus the add-ons in effect (`room.accounts.limits`).
    """
    if pool is SeatPool.ATTENDEE:
        return min(event.capacity, limits.attendees)
    if pool is SeatPool.PRESENTER:
        return limits.presenter_seats
    if pool is SeatPool.COLLABORATOR:
        return limits.collaborator_seats
    return None


def holder(event_id: str, identity: str) -> str:
    """The lease holder of one identity in one event: all its seats and slots expire together."""
    return f"{event_id}|{identity}"


def split_holder(value: str) -> tuple[str, str]:
    event_id, _, identity = value.partition("|")
    return event_id, identity
