"""Typed records of the room domain and their msgpack encoding."""

from __future__ import annotations

import secrets
import time
from enum import StrEnum
from typing import Any, TypeVar, cast, overload

import msgspec

from room.event_settings import EventSettings, from_stored
from room.types import AccessMode, EventKind, EventState, Role


class Plan(msgspec.Struct, frozen=True):
    """An account's limits (SPEC R-SEAT)."""

    attendees: int = 100
    presenter_seats: int = 4
    parallel_events: int = 1
    collaborator_seats: int = 10
    stage_cameras: int = 8
    stage_mics: int = 8
    stage_screens: int = 1
    # -- billing (issue 11): the plan's other base limits ---------------------------------
    secondary_accounts: int = 0
    recording_mb: int = 1024
    """Recording space, in megabytes."""
    storage_mb: int = 1024
    """Storage (slides and files), in megabytes."""
    certificates: bool = True
    """Whether the plan includes certificates; without, the certificates add-on does."""


class Cycle(StrEnum):
    """An account's billing cycle: 30 days (monthly) or 365 days (annual)."""

    MONTHLY = "monthly"
    ANNUAL = "annual"


class Account(msgspec.Struct):
    id: str
    name: str
    plan: Plan
    created: float
    # -- team (issue 11): secondary accounts --
    parent_id: str | None = None
    """A secondary account's main account (None for a main account)."""
    # -- billing (issue 11): the billing cycle (`room.accounts.plans`) -------------------
    cycle: Cycle = Cycle.MONTHLY
    cycle_start: float = 0.0
    """When the current cycle began; 0: at `created` (accounts made before cycles)."""


class Event(msgspec.Struct):
    id: str
    account_id: str
    title: str
    kind: EventKind = EventKind.WEBINAR
    state: EventState = EventState.SCHEDULED
    access_mode: AccessMode = AccessMode.OPEN
    capacity: int = 100
    scheduled_start: float | None = None
    created: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    settings: EventSettings = msgspec.field(default_factory=EventSettings)
    # -- the credits plan (credits): whose credits its registrations consume, and how many
    client_id: str | None = None
    credit_cost: int = 6
    """Credits per registrant (`room.credit_ledger.DEFAULT_CREDIT_COST`)."""


class Invitation(msgspec.Struct):
    """A link into one event with one role; personal unless `shared` (one link, many people)."""

    id: str
    event_id: str
    role: Role
    name: str = ""
    email: str = ""
    shared: bool = False
    gen: int = 1
    created: float = 0.0


class PersonView(msgspec.Struct):
    """A person as the roster shows him to whoever may see him."""

    person: str
    """His identity."""
    name: str
    role: Role
    connected: bool


class Person(msgspec.Struct):
    """One identity's place in an event's roster."""

    identity: str
    name: str
    role: Role
    base_role: Role
    connected: bool = True
    joined_at: float = 0.0

    def view(self) -> PersonView:
        return PersonView(
            person=self.identity, name=self.name, role=self.role, connected=self.connected
        )


T = TypeVar("T")

_encoder = msgspec.msgpack.Encoder()


def encode(record: msgspec.Struct) -> bytes:
    return _encoder.encode(record)


def decode(data: bytes, kind: type[T]) -> T:
    try:
        return msgspec.msgpack.decode(data, type=kind)
    except msgspec.ValidationError:
        if kind is not Event:
            raise
    return cast(T, _event_from_stored(data))


def _event_from_stored(data: bytes) -> Event:
    """An event whose settings an older version stored unchecked: the settings that do
    not fit their type are left unset (`event_settings.from_stored`); anything else
    wrong is refused as before."""
    fields = msgspec.msgpack.decode(data)
    if isinstance(fields, dict):
        fields["settings"] = msgspec.to_builtins(from_stored(fields.get("settings")))
    return msgspec.convert(fields, Event)


@overload
def to_wire(view: msgspec.Struct) -> dict[str, Any]: ...
@overload
def to_wire(view: msgspec.Struct | None) -> dict[str, Any] | None: ...
def to_wire(view: msgspec.Struct | None) -> dict[str, Any] | None:
    """A view as the plain map a change payload holds. Payloads stay builtins (the
    msgspec/JSON boundary, so `dict[str, Any]`): the change log keeps them as msgpack and
    gives them back as maps, and the fan-out sends them without converting each time."""
    return None if view is None else msgspec.to_builtins(view)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(9)}"


def now() -> float:
    return time.time()
