"""The lifecycle of an event: scheduled -> live -> ended (-> on_demand), and the one guard
on "ended" (R-LIFE).

Pure rules on an `Event`; `room.live` carries them out with seats and presence.
"""

from __future__ import annotations

from room.errors import Code, TribuneError
from room.permissions import is_staff
from room.records import Event, now
from room.types import EventState, Role

ENDED_STATES = frozenset({EventState.ENDED, EventState.ON_DEMAND})
"""The states after the end: `on_demand` is an ended event with a replay."""


def is_ended(event: Event) -> bool:
    return event.state in ENDED_STATES


def has_replay(event: Event) -> bool:
    return event.state is EventState.ON_DEMAND


def offer_replay(event: Event) -> None:
    """ended -> on_demand (a recording of it can be replayed); any other state stays."""
    if event.state is EventState.ENDED:
        event.state = EventState.ON_DEMAND


def require_open(event: Event, role: Role | None = None) -> None:
    """The one "ended" guard: after the end, nothing more happens in an event (joins,
    questions, votes, chat, the stage, registrations), except that staff (`role`, when
    given) may still enter to read and export what happened."""
    if is_ended(event) and not (role is not None and is_staff(role)):
        raise TribuneError(Code.EVENT_ENDED, "this event has ended")


def require_changeable(event: Event) -> None:
    """Settings of an ended event are kept as they were, for its statistics and exports."""
    if is_ended(event):
        raise TribuneError(Code.CONFLICT, "an ended event cannot be changed")


def require_startable(event: Event) -> None:
    if is_ended(event):
        raise TribuneError(Code.CONFLICT, "this event has ended and cannot start again")


def go_live(event: Event) -> None:
    """scheduled -> live (a live event stays as it is); refused once ended."""
    require_startable(event)
    if event.state is EventState.SCHEDULED:
        event.state = EventState.LIVE
        event.started_at = now()


def finish(event: Event) -> None:
    """-> ended, once."""
    if not is_ended(event):
        event.state = EventState.ENDED
        event.ended_at = now()
