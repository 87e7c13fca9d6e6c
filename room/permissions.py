"""The one table mapping each role to what it may do; every handler asks it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from room.changes import Audience
from room.errors import Code, TribuneError
from room.types import Role, SeatPool


class Action(StrEnum):
    """Everything a person can attempt in an event."""

    JOIN = "join"
    START_EVENT = "start_event"
    END_EVENT = "end_event"
    SET_ROLE = "set_role"
    RAISE_HAND = "raise_hand"
    TAKE_HAND = "take_hand"
    REMOVE_PERSON = "remove_person"
    SEE_ROSTER = "see_roster"
    SYNC = "sync"
    PUBLISH = "publish"
    PUBLISH_IN_MEETING = "publish_in_meeting"
    STOP_OTHERS_MEDIA = "stop_others_media"
    SUBSCRIBE = "subscribe"
    ASK_QUESTION = "ask_question"
    VOTE_QUESTION = "vote_question"
    MODERATE_QUESTIONS = "moderate_questions"
    VIEW_SCREEN = "view_screen"
    CHAT = "chat"
    MODERATE_CHAT = "moderate_chat"
    VOTE_POLL = "vote_poll"
    MANAGE_POLLS = "manage_polls"
    DRIVE_SLIDES = "drive_slides"
    VIEW_STATS = "view_stats"
    OPEN_MANAGER = "open_manager"
    """Connect to the manager page (/manage namespace)."""
    BE_PROTECTED = "be_protected"
    """Cannot be removed, banned or demoted by others."""
    VIEW_AUDIENCE = "view_audience"
    """See and export an event's registrations, access list, sessions and activity log."""
    EDIT_EVENT = "edit_event"
    """Change an event's settings, access list, direct link and certificate."""
    MANAGE_ACCOUNT = "manage_account"
    """Account-level pages: create events, add users and collaborators."""
    READ_AUDIT = "read_audit"
    """Read and export an event's moderation audit trail."""
    RECORD = "record"
    """Start and stop the event's recording (`recording.start` / `recording.stop`)."""


_ATTENDEE = {
    Action.JOIN,
    Action.RAISE_HAND,
    Action.SYNC,
    Action.SUBSCRIBE,
    Action.ASK_QUESTION,
    Action.VOTE_QUESTION,
    Action.CHAT,
    Action.VOTE_POLL,
    Action.PUBLISH_IN_MEETING,
}
_MODERATOR = {
    Action.JOIN,
    Action.OPEN_MANAGER,
    Action.SYNC,
    Action.SEE_ROSTER,
    Action.TAKE_HAND,
    Action.MODERATE_QUESTIONS,
    Action.MODERATE_CHAT,
    Action.MANAGE_POLLS,
    Action.DRIVE_SLIDES,
    Action.VIEW_STATS,
    Action.VIEW_SCREEN,
    Action.SUBSCRIBE,
    Action.CHAT,
    Action.VIEW_AUDIENCE,
    Action.READ_AUDIT,
    Action.RECORD,
}
_STAGE = _MODERATOR | {
    Action.START_EVENT,
    Action.END_EVENT,
    Action.SET_ROLE,
    Action.REMOVE_PERSON,
    Action.PUBLISH,
    Action.PUBLISH_IN_MEETING,
    Action.STOP_OTHERS_MEDIA,
    Action.ASK_QUESTION,
}

PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.ORGANIZER: frozenset(
        _STAGE | {Action.BE_PROTECTED, Action.EDIT_EVENT, Action.MANAGE_ACCOUNT}
    ),
    Role.PRESENTER: frozenset(_STAGE),
    Role.COLLABORATOR: frozenset(_MODERATOR),
    Role.PARTICIPANT: frozenset(_ATTENDEE),
    Role.SCREEN: frozenset({Action.SYNC, Action.VIEW_SCREEN}),  # /screen only, never /room
}

STAFF_ROLES: frozenset[Role] = frozenset(
    r for r, a in PERMISSIONS.items() if Action.SEE_ROSTER in a
)
"""Roles that see the full roster and receive the staff fan-out."""

PROMOTABLE: dict[Role, frozenset[Role]] = {
    Role.PARTICIPANT: frozenset({Role.PRESENTER}),
    Role.PRESENTER: frozenset({Role.PARTICIPANT}),
}
"""role.set may move a person from the key role to one of these (R-ROLE-2)."""


INVITED_BY_EMAIL: frozenset[Role] = frozenset({Role.PRESENTER, Role.COLLABORATOR})
"""Roles whose personal invitations the dashboard mails, re-issues and revokes (seed 002)."""


@dataclass(frozen=True)
class Place:
    """Where a role sits and how its links behave: the facts of a role that are not actions."""

    seat: SeatPool
    """The seat pool a person of this role occupies."""
    page: str
    """The page a link of this role opens (`/{page}/{event_id}`)."""
    shareable: bool = True
    """Whether one link of this role may be handed to many people."""
    bound: bool = False
    """Whether a personal link of this role binds to the first device that uses it (R-ROLE-4)."""


PLACES: dict[Role, Place] = {
    # An organizer link carries the account's rights in the room: never one for many people.
    Role.ORGANIZER: Place(SeatPool.ORGANIZER, "room", shareable=False),
    Role.PRESENTER: Place(SeatPool.PRESENTER, "room", bound=True),
    Role.COLLABORATOR: Place(SeatPool.COLLABORATOR, "room"),
    Role.PARTICIPANT: Place(SeatPool.ATTENDEE, "room"),
    Role.SCREEN: Place(SeatPool.SCREEN, "screen"),
}


def seat_pool(role: Role) -> SeatPool:
    return PLACES[role].seat


def page_of(role: Role) -> str:
    return PLACES[role].page


def can(role: Role, action: Action) -> bool:
    return action in PERMISSIONS[role]


def require(role: Role, action: Action) -> None:
    if action not in PERMISSIONS[role]:
        what = action.value.replace("_", " ")
        raise TribuneError(Code.FORBIDDEN, f"the {role.value} role may not {what}")


def may_stop_media_of(actor: Role, target: Role) -> bool:
    """Whether `actor` may stop `target`'s media (`media.stop_other`): a role that may stop
    others' media, on anyone but a protected role (the organizer) unless protected itself."""
    if not can(actor, Action.STOP_OTHERS_MEDIA):
        return False
    return not can(target, Action.BE_PROTECTED) or can(actor, Action.BE_PROTECTED)


def is_staff(role: Role) -> bool:
    return role in STAFF_ROLES


def audience_of(role: Role) -> Audience:
    """Which fan-out audience a role belongs to."""
    if role in STAFF_ROLES:
        return Audience.STAFF
    if Action.VIEW_SCREEN in PERMISSIONS[role]:
        return Audience.SCREEN
    return Audience.AUDIENCE


def is_thanked_as_presenter(role: Role) -> bool:
    """Whether an invitation's role gets the presenters' thank-you with the event's figures
    once it has ended (R-ROLE-5): the presenters, not the organizer who ran it."""
    return role is Role.PRESENTER


def is_mailed_the_replay(role: Role) -> bool:
    """Whether a personal invitation's role is mailed its link to the replay once the event
    is on demand: the audience (registrants, guests, invited attendees); presenters have it
    in their thank-you, staff open it from the dashboard."""
    return role is Role.PARTICIPANT


# -- the role each way in grants ---------------------------------------------------------------

ATTENDEE_ROLE: Role = Role.PARTICIPANT
"""The role of an attendee's link: a guest of the access list, the direct-access link, and
the default of a session record (R-REG-2, R-REG-3)."""

REGISTRANT_ROLE: Role = ATTENDEE_ROLE
"""The role of the personal link a registration gives (R-REG-1)."""

SCREEN_ROLE: Role = Role.SCREEN
"""The role of the second screen's shared, read-only link (R-QA-3)."""

API_KEY_ROLE: Role = Role.ORGANIZER
"""What the account's API key may do in any event of the account: what its owner may."""
