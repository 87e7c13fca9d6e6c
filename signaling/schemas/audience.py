"""Wire Structs of the audience side: the dashboard's HTTP bodies and views, and the
statistics query of `/manage`."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from room.accounts.users import UserView
from room.event_settings import Visibility
from room.events import ClientId, CreditCost
from room.records import Event
from room.types import AccessMode, EventKind, Role
from signaling.schemas.signin import EmailText, NameText

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class EventForm(msgspec.Struct, forbid_unknown_fields=True):
    """The dashboard's event editor: the event's own fields and its audience settings."""

    title: Title | None = None
    kind: EventKind | None = None
    access_mode: AccessMode | None = None
    capacity: int | None = None
    scheduled_start: float | None = None
    registration_fields: list[Any] | None = None
    """Free-form here: `room.event_settings.parse_fields` checks each definition."""
    certificate: dict[str, Any] | None = None
    """Free-form here: `room.event_settings.parse_certificate` checks it."""
    question_visibility: Visibility | None = None
    """What participants see of other people's questions
    (`moderation.question_settings.configure`)."""
    anonymous_questions: bool | None = None
    client_id: ClientId | None = None
    """The client whose credits its registrations consume (the credits plan)."""
    credit_cost: CreditCost | None = None
    auto_record: bool | None = None
    """A recording starts by itself when the event goes live."""
    replay_mail: bool | None = None
    """The audience is mailed its replay link once the event is on demand."""


class CollaboratorAdd(msgspec.Struct, forbid_unknown_fields=True):
    email: EmailText
    name: NameText = ""


class GuestAdd(msgspec.Struct, forbid_unknown_fields=True):
    email: EmailText
    name: NameText = ""


class DirectLinkSet(msgspec.Struct, forbid_unknown_fields=True):
    enabled: bool


class StatsQuery(msgspec.Struct, forbid_unknown_fields=True):
    """`stats.get` on /manage: the figures of a time range (Unix seconds)."""

    from_: float | None = msgspec.field(default=None, name="from")
    to: float | None = None


# -- views ---------------------------------------------------------------------------------


class EventLinks(msgspec.Struct):
    stats: str
    """The event's statistics page."""
    register: str | None
    """Its public registration page; None unless the access mode is registration."""


class EventView(Event, kw_only=True):
    """The dashboard's event: the event as stored (its settings only those that were set),
    then the viewer's role in it, what that role may do, and the event's public pages."""

    role: Role
    can: list[str]
    links: EventLinks
    credits_low: bool = False
    """Its client has less left than one more registration costs: registrations are refused."""
    credits_left: int | None = None
    """Its client's balance (None for an event of no client)."""


class EventCounts(msgspec.Struct):
    registrations: int
    guests: int
    sessions: int


class EventDetail(EventView, kw_only=True):
    """One event on the dashboard, with its audience."""

    counts: EventCounts
    direct_link: str | None
    """The shared room link while it is enabled."""
    collaborators: list[UserView]


class InvitationLink(msgspec.Struct):
    """An invitation of the events API with its signed token and the URL to open."""

    invitation: dict[str, Any]
    """The `Invitation` record as it is stored."""
    token: str
    url: str


class MyLinks(msgspec.Struct):
    """The asker's own links into an event's pages."""

    token: str
    room: str
    manage: str
    screen: str
    stats: str


class DirectLink(msgspec.Struct):
    enabled: bool
    url: str | None


class ActivityLine(msgspec.Struct):
    at: float
    who: str
    action: str
    detail: str


class RegisteredPerson(msgspec.Struct):
    id: str
    email: str
    name: str


class Registered(msgspec.Struct):
    """The answer to a public registration."""

    registration: RegisteredPerson
    link: str
    certificate: bool
    message: str


class CertificateLine(msgspec.Struct):
    id: str
    email: str
    name: str
    issued_at: float
    seconds: float
    url: str
