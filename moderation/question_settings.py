"""The question settings of an event: who sees questions, whether they may be anonymous."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET

from moderation import audit
from moderation.outcome import Outcome
from room import changes
from room.changes import Audience, Change
from room.event_settings import Visibility
from room.events import change_event, load_event
from room.records import Event, Person, to_wire
from room.store import Store


class QuestionSettings(msgspec.Struct, frozen=True):
    """Kept in the event's settings as `question_visibility` and `anonymous_questions`."""

    visibility: Visibility = Visibility.NONE
    anonymous: bool = True
    """Participants may ask anonymously."""


def settings_of(event: Event) -> QuestionSettings:
    """The event's question settings, with the defaults for those never set."""
    s = event.settings
    return QuestionSettings(
        Visibility.NONE if s.question_visibility is UNSET else s.question_visibility,
        True if s.anonymous_questions is UNSET else s.anonymous_questions,
    )


def settings_view(s: QuestionSettings) -> dict[str, Any]:
    return to_wire(s)


async def configure(
    store: Store,
    event_id: str,
    who: Person,
    visibility: Visibility | None = None,
    anonymous: bool | None = None,
) -> Outcome:
    """Change who sees questions and whether anonymous questions are accepted."""
    before = settings_of(await load_event(store, event_id))

    def apply(e: Event) -> None:
        if visibility is not None:
            e.settings.question_visibility = visibility
        if anonymous is not None:
            e.settings.anonymous_questions = anonymous

    event = await change_event(store, event_id, apply)
    after = settings_of(event)
    out = Outcome(ack={"settings": settings_view(after)})
    if after == before:
        return out
    b, a = audit.diff(before, after)
    await audit.record(store, event_id, who, "questions.settings", f"event:{event_id}", b, a)
    payload = {"settings": settings_view(after)}
    out.changes.append(
        await changes.record(
            store,
            Change(
                event_id=event_id,
                name="questions.settings",
                payloads={Audience.STAFF: dict(payload), Audience.AUDIENCE: dict(payload)},
            ),
        )
    )
    return out
