"""What each page lists of an event's questions: the manager page, the second screen and
a participant's snapshot (each question as `moderation.question_views` shows it)."""

from __future__ import annotations

import msgspec

from moderation import votes
from moderation.question_settings import QuestionSettings, settings_of
from moderation.question_views import (
    AuthorQuestion,
    PublicQuestion,
    ScreenQuestion,
    StaffQuestion,
    audience_sees,
    author_view,
    public_view,
    screen_view,
    staff_view,
)
from moderation.questions import all_questions, asked_by
from room.event_settings import Visibility
from room.permissions import is_staff
from room.records import Event, Person
from room.store import Store


async def staff_list(store: Store, event_id: str) -> list[StaffQuestion]:
    return [staff_view(q) for q in await all_questions(store, event_id)]


async def screen_list(store: Store, event_id: str) -> list[ScreenQuestion]:
    """What a second screen shows: pushed, not answered, not hidden, in push order."""
    shown = [q for q in await all_questions(store, event_id) if q.on_screen]
    shown.sort(key=lambda q: (q.pushed or 0, q.id))
    return [screen_view(q) for q in shown]


class AudienceQuestions(msgspec.Struct):
    """A participant's part of the snapshot."""

    settings: QuestionSettings
    questions: list[PublicQuestion]
    mine: list[AuthorQuestion]
    votes: list[str]
    """The ids of the questions he voted for."""


async def audience_state(store: Store, event: Event, viewer: Person) -> AudienceQuestions:
    """A participant's part of the snapshot: settings, visible questions, his own, his votes.
    Staff see no public list here: they run the questions from the manager page."""
    s = settings_of(event)
    visible: list[PublicQuestion] = []
    if s.visibility is not Visibility.NONE and not is_staff(viewer.role):
        visible = [
            public_view(q)
            for q in await all_questions(store, event.id)
            if audience_sees(q, s.visibility)
        ]
    mine = await asked_by(store, event.id, viewer.identity)
    return AudienceQuestions(
        settings=s,
        questions=visible,
        mine=[author_view(q, s.visibility) for q in mine],
        votes=await votes.voted_by(store, event.id, viewer.identity),
    )
