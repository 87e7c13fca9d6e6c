"""Questions (R-QA): asking and the moderators' transitions (votes: `moderation.votes`;
what each page lists: `moderation.question_lists`).

A question is one record (`Question`) in the event's question hash, changed only
with compare-and-set so that several moderators can act at once. Each transition
returns one `question.changed` change whose payload differs per audience; what
each audience sees is decided in `moderation.question_views`.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from moderation import audit, keys, question_views, votes
from moderation.items import Origin, Question, QuestionKind
from moderation.limits import LIMITS, Limits
from moderation.outcome import Outcome, Removed
from moderation.question_settings import settings_of
from moderation.question_views import (
    QuestionAck,
    author_view,
    staff_view,
)
from moderation.text import clean
from room import cas, client_ids, lifecycle, ratelimit
from room.errors import Code, TribuneError, forbidden, not_found
from room.events import load_event
from room.permissions import Action, can
from room.records import Event, Person, new_id, now, to_wire
from room.store import Store

_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder(Question)


# -- reading -------------------------------------------------------------------------
# Every question read here carries its votes (`votes.counted`); records are written only
# from their stored form, never from a counted copy.


async def find(store: Store, event_id: str, qid: str) -> Question | None:
    raw = await store.hget(keys.questions(event_id), qid)
    return None if raw is None else (await votes.counted(store, event_id, [_dec.decode(raw)]))[0]


async def get(store: Store, event_id: str, qid: str) -> Question:
    q = await find(store, event_id, qid)
    if q is None:
        raise not_found("question")
    return q


async def all_questions(store: Store, event_id: str) -> list[Question]:
    qs = [_dec.decode(r) for r in (await store.hgetall(keys.questions(event_id))).values()]
    return sorted(await votes.counted(store, event_id, qs), key=lambda q: (q.created, q.id))


async def _asked_ids(store: Store, event_id: str, identity: str) -> list[str]:
    ids = await store.lrange(keys.questions_by(event_id, identity))
    return list(dict.fromkeys(i.decode() for i in ids))  # a repaired entry may repeat


async def asked_by(store: Store, event_id: str, identity: str) -> list[Question]:
    raws = await store.hmget(keys.questions(event_id), await _asked_ids(store, event_id, identity))
    return await votes.counted(store, event_id, [_dec.decode(r) for r in raws if r is not None])


async def _changed(
    store: Store, event: Event, qid: str, before: Question | None, after: Question | None
) -> Outcome:
    visibility = settings_of(event).visibility
    return await question_views.changed(store, event.id, visibility, qid, before, after)


async def _update(
    store: Store, event_id: str, qid: str, apply: cas.Mutation[Question]
) -> cas.Updated[Question]:
    """Compare-and-set one question: `apply` changes a copy (it may raise: a stale edit
    raises `conflict`) or returns `cas.DELETE`). Both sides carry their votes."""
    before, after = await cas.update(
        store,
        keys.questions(event_id),
        qid,
        Question,
        apply,
        missing=not_found("question"),
        conflict="the question is being changed too often; try again",
        attempts=100,
    )
    await votes.counted(store, event_id, [before, after])
    return cas.Updated(before, after)


async def _create(store: Store, event: Event, q: Question, limits: Limits) -> Outcome | None:
    """Write a new question (at most `questions_per_event` in the event); None when a
    question with its id is there already (a retry of the same client id wrote it)."""
    cap = limits.questions_per_event
    added = await store.hsetnx_capped(keys.questions(event.id), q.id, _enc.encode(q), cap)
    if added is None:
        raise TribuneError(
            Code.LIMIT_REACHED, f"this event has reached its limit of {cap} questions"
        )
    if not added:
        return None
    await store.rpush(keys.questions_by(event.id, q.author), q.id.encode())
    out = await _changed(store, event, q.id, None, q)
    out.ack = QuestionAck(staff_view(q))
    return out


async def _created(store: Store, event: Event, q: Question, limits: Limits) -> Outcome:
    out = await _create(store, event, q, limits)
    assert out is not None, "a fresh question id is never taken"
    return out


async def _asked_before(store: Store, event: Event, who: Person, qid: str) -> Outcome | None:
    """The answer to a retried ask whose question exists: its record, nothing new (the
    asker's list gets it if the first try died before listing it)."""
    q = await find(store, event.id, qid)
    if q is None:
        return None
    if qid not in await _asked_ids(store, event.id, who.identity):
        await store.rpush(keys.questions_by(event.id, who.identity), qid.encode())
    return Outcome(ack=QuestionAck(author_view(q, settings_of(event).visibility)))


# -- participants ----------------------------------------------------------------------


async def ask(
    store: Store,
    event_id: str,
    who: Person,
    text: str,
    anonymous: bool = False,
    limits: Limits = LIMITS,
    cid: str | None = None,
) -> Outcome:
    """A participant (or a presenter) asks a question (R-QA-1). A retry with the same
    client id `cid` answers the question the first try asked (`room.client_ids`)."""
    event = await load_event(store, event_id)
    lifecycle.require_open(event)
    text = clean(text, limits.question_length, "text", "question")
    if anonymous and not settings_of(event).anonymous:
        raise forbidden("this event does not accept anonymous questions")
    qid, first = await client_ids.claim(
        store, keys.question_cids(event_id), cid, who.identity, new_id("q")
    )
    if not first and (again := await _asked_before(store, event, who, qid)) is not None:
        return again
    if (
        first  # a retry's question was counted by its first try
        and not can(who.role, Action.MODERATE_QUESTIONS)
        and not await ratelimit.take(
            store, keys.question_throttle(event_id), who.identity, limits.questions_rate
        )
    ):
        raise TribuneError(Code.RATE_LIMITED, "you are asking too fast; wait a little")
    q = Question(
        id=qid,
        text=text,
        author=who.identity,
        name="" if anonymous else who.name,
        created=now(),
        anonymous=anonymous,
    )
    out = await _create(store, event, q, limits)
    if out is None:  # a concurrent retry of the same client id wrote it first
        again = await _asked_before(store, event, who, qid)
        if again is None:  # and a moderator deleted it since
            raise not_found("question")
        return again
    out.ack = QuestionAck(author_view(q, settings_of(event).visibility))
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
    out = await _created(store, event, q, limits)
    added = {"text": q.text, "kind": q.kind.value}
    await audit.record(store, event_id, who, "question.add", f"question:{q.id}", None, added)
    return out


async def create_from(
    store: Store,
    event: Event,
    who: Person,
    author: str,
    name: str,
    text: str,
    action: str,
    source_ref: str,
    limits: Limits = LIMITS,
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
    out = await _created(store, event, q, limits)
    await audit.record(
        store, event.id, who, action, source_ref, None, {"question": q.id, "text": q.text}
    )
    return out


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
    await store.hdel(keys.vote_counts(event_id), qid)
    was = to_wire(staff_view(before))
    await audit.record(store, event_id, who, "question.delete", f"question:{qid}", was, None)
    out = await _changed(store, event, qid, before, None)
    out.ack = Removed(qid)
    return out
