"""Shared enums and type aliases of the room domain."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Who a person is in one event (SPEC R-ROLE)."""

    ORGANIZER = "organizer"
    PRESENTER = "presenter"
    COLLABORATOR = "collaborator"
    PARTICIPANT = "participant"
    SCREEN = "screen"


class EventKind(StrEnum):
    WEBINAR = "webinar"
    MEETING = "meeting"


class EventState(StrEnum):
    """The lifecycle of an event: scheduled -> live -> ended (SPEC R-LIFE), then on_demand
    once a recording of it can be replayed (`room.replay`). Both last states are "ended"
    for every rule (`room.lifecycle.is_ended`)."""

    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    ON_DEMAND = "on_demand"


class AccessMode(StrEnum):
    OPEN = "open"
    REGISTRATION = "registration"
    ACCESS_LIST = "access_list"


class SeatPool(StrEnum):
    """The capacity pools a person can hold a seat in, within one event."""

    ATTENDEE = "attendee"
    PRESENTER = "presenter"
    COLLABORATOR = "collaborator"
    ORGANIZER = "organizer"
    SCREEN = "screen"


EventId = str
AccountId = str
Identity = str
