"""Questions (R-QA): asking, voting and the moderators' transitions.

A question is one record (`Question`) in the event's question hash, changed only
with compare-and-set so that several moderators can act at once. Each transition
returns one `question.changed` change whose payload differs per audience; what
each audience sees is decided in `moderation.question_views`.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from moderation import audit, keys, question_views
from moderation.items import Origin, Question, QuestionKind
from moderation.limits import LIMITS, Limits
from moderation.outcome import Outcome, Removed
from moderation.question_settings import QuestionSettings, settings_of
from moderation.question_views import (
    AuthorQuestion,
    PublicQuestion,
    QuestionAck,
    ScreenQuestion,
    StaffQuestion,
    VoteAck,
    audience_sees,
    author_view,
    public_view,
    screen_view,
    staff_view,
)
from moderation.text import clean
from room import cas, lifecycle, ratelimit
from room.errors import Code, TribuneError, forbidden, not_found
from room.event_settings import Visibility
from room.events import load_event
from room.permissions import Action, can, is_staff
from room.records import Event, Person, new_id, now, to_wire
from room.store import Store

_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder(Question)


# -- reading -------------------------------------------------------------------------


async def get(store: Store, event_id: str, qid: str) -> Question:
    raw = await store.hget(keys.questions(event_id), qid)
    if raw is None:
        raise not_found("question")
    return _dec.decode(raw)


async def all_questions(store: Store, event_id: str) -> list[Question]:
    qs = [_dec.decode(r) for r in (await store.hgetall(keys.questions(event_id))).values()]
    return sorted(qs, key=lambda q: (q.created, q.id))


async def asked_by(store: Store, event_id: str, identity: str) -> list[Question]:
    ids = [i.decode() for i in await store.lrange(keys.questions_by(event_id, identity))]
    raws = await store.hmget(keys.questions(event_id), ids)
    return [_dec.decode(r) for r in raws if r is not None]


async def voted_by(store: Store, event_id: str, identity: str) -> list[str]:
    return sorted(await store.hgetall(keys.votes_by(event_id, identity)))


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
        votes=await voted_by(store, event.id, viewer.identity),
    )


async def _changed(
    store: Store, event: Event, qid: str, before: Question | None, after: Question | None
) -> Outcome:
    visibility = settings_of(event).visibility
    return await question_views.changed(store, event.id, visibility, qid, before, after)


async def _update(
    store: Store, event_id: str, qid: str, apply: cas.Mutation[Question]
) -> cas.Updated[Question]:
    """Compare-and-set one question: `apply` changes a copy (it may raise: a stale edit
    raises `conflict`) or returns `cas.DELETE`."""
    return await cas.update(
        store,
        keys.questions(event_id),
        qid,
        Question,
        apply,
        missing=not_found("question"),
        conflict="the question is being changed too often; try again",
        attempts=100,
    )


async def _create(store: Store, event: Event, q: Question) -> Outcome:
    await store.hset(keys.questions(event.id), q.id, _enc.encode(q))
    await store.rpush(keys.questions_by(event.id, q.author), q.id.encode())
    out = await _changed(store, event, q.id, None, q)
    out.ack = QuestionAck(staff_view(q))
    return out


# -- participants ----------------------------------------------------------------------


async def ask(
    store: Store,
    event_id: str,
    who: Person,
    text: str,
    anonymous: bool = False,
    limits: Limits = LIMITS,
) -> Outcome:
    """A participant (or a presenter) asks a question (R-QA-1)."""
    event = await load_event(store, event_id)
    lifecycle.require_open(event)
    text = clean(text, limits.question_length, "text", "question")
    if anonymous and not settings_of(event).anonymous:
        raise forbidden("this event does not accept anonymous questions")
    if not can(who.role, Action.MODERATE_QUESTIONS) and not await ratelimit.take(
        store, keys.question_throttle(event_id), who.identity, limits.questions_rate
    ):
        raise TribuneError(Code.RATE_LIMITED, "you are asking too fast; wait a little")
    if await store.hlen(keys.questions(event_id)) >= limits.questions_per_event:
        cap = limits.questions_per_event
        raise TribuneError(Code.CONFLICT, f"this event has reached its limit of {cap} questions")
    q = Question(
        id=new_id("q"),
        text=text,
        author=who.identity,
        name="" if anonymous else who.name,
        created=now(),
        anonymous=anonymous,
    )
    out = await _create(store, event, q)
    out.ack = QuestionAck(author_view(q, settings_of(event).visibility))
    return out


async def vote(store: Store, event_id: str, who: Person, qid: str, up: bool = True) -> Outcome:
    """Upvote (or take back the vote on) a question the voter can see; once per person."""
    event = await load_event(store, event_id)
    lifecycle.require_open(event)
    q = await get(store, event_id, qid)
    if not audience_sees(q, settings_of(event).visibility):
        raise not_found("question")
    if q.author == who.identity:
        raise forbidden("you cannot vote for your own question")
    key = keys.votes_by(event_id, who.identity)
    if up:
        counted = await store.hsetnx(key, qid, b"1")
    else:
        counted = await store.hcas(key, qid, b"1", None)
    if not counted:
        return Outcome(ack=VoteAck(q.votes, up))

    def apply(q: Question) -> None:
        q.votes = max(0, q.votes + (1 if up else -1))

    before, after = await _update(store, event_id, qid, apply)
    out = await _changed(store, event, qid, before, after)
    out.ack = VoteAck(after.votes, up)
    return out


# -- staff -----------------------------------------------------------------------------


async def add(
    store: Store,
    event_id: str,
    who: Person,
    text: str,
    kind: QuestionKind = QuestionKind.QUESTION,
    limits: Limits = LIMITS,
) -> Outcome:
    """Staff add a question or a comment of their own: approved, never anonymous."""
    event = await load_event(store, event_id)
    text = clean(text, limits.question_length, "text", kind.value)
    q = Question(
        id=new_id("q"),
        text=text,
        author=who.identity,
        name=who.name,
        created=now(),
        kind=kind,
        source=Origin.STAFF,
        approved=True,
    )
    added = {"text": q.text, "kind": q.kind.value}
    await audit.record(store, event_id, who, "question.add", f"question:{q.id}", None, added)
    return await _create(store, event, q)


async def create_from(
    store: Store,
    event: Event,
    who: Person,
    author: str,
    name: str,
    text: str,
    action: str,
    source_ref: str,
) -> Outcome:
    """A question on someone's behalf (a chat message turned into a question)."""
    q = Question(
        id=new_id("q"),
        text=text,
        author=author,
        name=name,
        created=now(),
        source=Origin.CHAT,
        approved=True,
    )
    await audit.record(
        store, event.id, who, action, source_ref, None, {"question": q.id, "text": q.text}
    )
    return await _create(store, event, q)


async def _moderate(
    store: Store,
    event_id: str,
    who: Person,
    qid: str,
    action: str,
    apply: Callable[[Question], None],
) -> Outcome:
    event = await load_event(store, event_id)
    before, after = await _update(store, event_id, qid, apply)
    if after == before:
        return Outcome(ack=QuestionAck(staff_view(after)))
    b, a = audit.diff(before, after)
    await audit.record(store, event_id, who, action, f"question:{qid}", b, a)
    out = await _changed(store, event, qid, before, after)
    out.ack = QuestionAck(staff_view(after))
    return out


async def hide(store: Store, event_id: str, who: Person, qid: str, hidden: bool = True) -> Outcome:
    def apply(q: Question) -> None:
        q.hidden = hidden

    return await _moderate(
        store, event_id, who, qid, "question.hide" if hidden else "question.unhide", apply
    )


async def approve(
    store: Store, event_id: str, who: Person, qid: str, approved: bool = True
) -> Outcome:
    """Approve for the audience (the `approved` visibility setting's queue)."""

    def apply(q: Question) -> None:
        q.approved = approved

    return await _moderate(
        store, event_id, who, qid, "question.approve" if approved else "question.unapprove", apply
    )


async def push(store: Store, event_id: str, who: Person, qid: str, pushed: bool = True) -> Outcome:
    """Put a question on the second screens (after those pushed before it), or take it off.

    Pushing makes the question current again: it is un-hidden and un-answered.
    Pushing a question already on screen keeps its place.
    """
    seq = await store.incr(keys.push_seq(event_id)) if pushed else None

    def apply(q: Question) -> None:
        if pushed:
            if q.on_screen:
                return
            q.pushed, q.pushed_at = seq, now()
            q.hidden = False
            q.answered_at = None
        else:
            q.pushed = q.pushed_at = None

    return await _moderate(
        store, event_id, who, qid, "question.push" if pushed else "question.unpush", apply
    )


async def answer(
    store: Store, event_id: str, who: Person, qid: str, answered: bool = True
) -> Outcome:
    """Mark answered (it leaves the second screens) or unanswered (a pushed one returns)."""
    at = now()

    def apply(q: Question) -> None:
        if answered and q.answered_at is None:
            q.answered_at = at
        elif not answered:
            q.answered_at = None

    return await _moderate(
        store, event_id, who, qid, "question.answer" if answered else "question.unanswer", apply
    )


async def edit(
    store: Store,
    event_id: str,
    who: Person,
    qid: str,
    text: str,
    version: int,
    limits: Limits = LIMITS,
) -> Outcome:
    """Change the wording; the original is kept. `version` is the wording the editor saw:
    if someone changed it since, the edit is refused with `conflict` instead of overwriting."""
    text = clean(text, limits.question_length, "text", "question")
    at = now()

    def apply(q: Question) -> None:
        if q.version != version:
            raise TribuneError(
                Code.CONFLICT,
                f"{q.edited_by or 'someone'} changed this question meanwhile; "
                "review the new wording",
                "version",
            )
        if q.text == text:
            return
        if q.original is None:
            q.original = q.text
        q.text = text
        q.version += 1
        q.edited_by = who.name
        q.edited_at = at

    return await _moderate(store, event_id, who, qid, "question.edit", apply)


async def delete(store: Store, event_id: str, who: Person, qid: str) -> Outcome:
    """Delete permanently; the audit trail keeps what it was."""
    event = await load_event(store, event_id)
    before, _ = await _update(store, event_id, qid, lambda _: cas.DELETE)
    was = to_wire(staff_view(before))
    await audit.record(store, event_id, who, "question.delete", f"question:{qid}", was, None)
    out = await _changed(store, event, qid, before, None)
    out.ack = Removed(qid)
    return out
