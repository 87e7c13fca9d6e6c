"""What each audience sees of a question, and the change a transition sends to each.

Staff get the full record, participants the public view (only when the event's
visibility setting shows them the question), second screens the pushed view, and
the author his own question's status whatever the setting. The views are
Structs so their fields are declared once; in change payloads they are plain maps
(`to_wire`), which the fan-out sends and the change log keeps as they are.
"""

from __future__ import annotations

import msgspec

from moderation.items import Origin, Question, QuestionKind, Status
from moderation.outcome import Notice, Outcome
from room import changes
from room.changes import Audience, Change, Payload
from room.event_settings import Visibility
from room.records import to_wire
from room.store import Store

ANONYMOUS = "Anonymous"


class StaffQuestion(msgspec.Struct):
    id: str
    text: str
    original: str | None
    name: str
    author: str | None
    """None when anonymous: not even staff see who asked."""
    anonymous: bool
    kind: QuestionKind
    source: Origin
    created: float
    votes: int
    hidden: bool
    approved: bool
    pushed: int | None
    pushed_at: float | None
    answered: bool
    answered_at: float | None
    version: int
    edited_by: str | None
    edited_at: float | None


class PublicQuestion(msgspec.Struct):
    id: str
    text: str
    name: str
    kind: QuestionKind
    votes: int
    answered: bool
    edited: bool
    created: float


class ScreenQuestion(msgspec.Struct):
    id: str
    text: str
    name: str
    kind: QuestionKind
    pushed: int | None
    answered: bool
    hidden: bool


class AuthorQuestion(msgspec.Struct):
    """The author's own question, with its status in the moderation flow."""

    id: str
    text: str
    status: Status
    votes: int
    anonymous: bool
    kind: QuestionKind
    edited: bool
    created: float


class QuestionAck(msgspec.Struct):
    """The ack of a question call: staff get the full record, the author his own view."""

    question: StaffQuestion | AuthorQuestion


class VoteAck(msgspec.Struct):
    votes: int
    voted: bool


class QuestionMine(msgspec.Struct):
    """The `question.mine` notice: the author's own question as it now is (None: deleted)."""

    id: str
    question: AuthorQuestion | None
    rev: int


def display_name(q: Question) -> str:
    return ANONYMOUS if q.anonymous else q.name


def staff_view(q: Question) -> StaffQuestion:
    return StaffQuestion(
        id=q.id,
        text=q.text,
        original=q.original,
        name=display_name(q),
        author=None if q.anonymous else q.author,
        anonymous=q.anonymous,
        kind=q.kind,
        source=q.source,
        created=q.created,
        votes=q.votes,
        hidden=q.hidden,
        approved=q.approved,
        pushed=q.pushed,
        pushed_at=q.pushed_at,
        answered=q.answered,
        answered_at=q.answered_at,
        version=q.version,
        edited_by=q.edited_by,
        edited_at=q.edited_at,
    )


def public_view(q: Question) -> PublicQuestion:
    return PublicQuestion(
        id=q.id,
        text=q.text,
        name=display_name(q),
        kind=q.kind,
        votes=q.votes,
        answered=q.answered,
        edited=q.original is not None,
        created=q.created,
    )


def screen_view(q: Question) -> ScreenQuestion:
    return ScreenQuestion(
        id=q.id,
        text=q.text,
        name=display_name(q),
        kind=q.kind,
        pushed=q.pushed,
        answered=q.answered,
        hidden=q.hidden,
    )


def status(q: Question, visibility: Visibility) -> Status:
    if q.answered:
        return Status.ANSWERED
    if q.hidden:
        return Status.HIDDEN
    if q.pushed is not None:
        return Status.ON_SCREEN
    if visibility is Visibility.APPROVED:
        return Status.APPROVED if q.approved else Status.PENDING
    if visibility is Visibility.ALL:
        return Status.PUBLISHED
    return Status.RECEIVED


def author_view(q: Question, visibility: Visibility) -> AuthorQuestion:
    return AuthorQuestion(
        id=q.id,
        text=q.text,
        status=status(q, visibility),
        votes=q.votes,
        anonymous=q.anonymous,
        kind=q.kind,
        edited=q.original is not None,
        created=q.created,
    )


def audience_sees(q: Question, visibility: Visibility) -> bool:
    if q.hidden or visibility is Visibility.NONE:
        return False
    return visibility is Visibility.ALL or q.approved


async def changed(
    store: Store,
    event_id: str,
    visibility: Visibility,
    qid: str,
    before: Question | None,
    after: Question | None,
) -> Outcome:
    """The `question.changed` change from `before` to `after` (None: not there), with the
    payload of each audience that sees a difference, and the author's notice."""
    staff = None if after is None else staff_view(after)
    payloads: dict[Audience, Payload] = {
        Audience.STAFF: {"id": qid, "question": to_wire(staff)}
    }
    seen_before = before is not None and audience_sees(before, visibility)
    seen_after = after is not None and audience_sees(after, visibility)
    if seen_before or seen_after:
        old = public_view(before) if before is not None and seen_before else None
        new = public_view(after) if after is not None and seen_after else None
        if old != new:
            payloads[Audience.AUDIENCE] = {"id": qid, "question": to_wire(new)}
    screen_before = before is not None and before.on_screen
    screen_after = after is not None and after.on_screen
    if screen_before or screen_after:
        old_s = screen_view(before) if before is not None and screen_before else None
        new_s = screen_view(after) if after is not None and screen_after else None
        if old_s != new_s:
            payloads[Audience.SCREEN] = {"id": qid, "question": to_wire(new_s)}
    change = await changes.record(
        store, Change(event_id=event_id, name="question.changed", payloads=payloads)
    )
    out = Outcome(changes=[change])
    subject = after or before
    if subject is not None and subject.source is not Origin.STAFF:
        old_a = author_view(before, visibility) if before is not None else None
        new_a = author_view(after, visibility) if after is not None else None
        if old_a != new_a:
            mine = QuestionMine(id=qid, question=new_a, rev=change.rev)
            out.notices.append(Notice(subject.author, "question.mine", mine))
    return out
