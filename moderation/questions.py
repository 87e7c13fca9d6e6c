"""Questions (R-QA): asking, voting, and the moderators' transitions, with their audiences.

A question is one record (`Question`) in the event's question hash, changed only
with compare-and-set so that several moderators can act at once. Each transition
returns one `question.changed` change whose payload differs per audience: staff get
the full record, participants the public view (only when the event's visibility
setting shows it to them), second screens the pushed-and-not-answered view. The
author gets a notice with his own question's status whatever the setting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from moderation import audit, keys
from moderation.items import Origin, Question, QuestionKind, Status, Visibility
from moderation.limits import LIMITS, Limits
from moderation.outcome import Notice, Outcome
from moderation.text import clean
from room import changes, lifecycle, ratelimit
from room.changes import Audience, Change
from room.errors import Code, TribuneError, forbidden, not_found
from room.events import change_event, load_event
from room.permissions import Action, can
from room.records import Event, Person, new_id, now
from room.store import Store

_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder(Question)

ANONYMOUS = "Anonymous"


# -- settings ------------------------------------------------------------------------


class Settings(msgspec.Struct, frozen=True):
    visibility: Visibility = Visibility.NONE
    anonymous: bool = True
    """Participants may ask anonymously."""


def settings_of(event: Event) -> Settings:
    """The event's question settings; values that are not understood fall back to defaults."""
    raw = event.settings.get("question_visibility", Visibility.NONE.value)
    try:
        visibility = Visibility(raw)
    except ValueError:
        visibility = Visibility.NONE
    anonymous = event.settings.get("anonymous_questions", True)
    return Settings(visibility, anonymous if isinstance(anonymous, bool) else True)


def require_running(event: Event) -> None:
    """Participants' actions (ask, vote, chat, poll votes) stop when the event ends."""
    lifecycle.require_open(event)


def settings_view(s: Settings) -> dict[str, Any]:
    return {"visibility": s.visibility.value, "anonymous": s.anonymous}


# -- views -----------------------------------------------------------------------------


def display_name(q: Question) -> str:
    return ANONYMOUS if q.anonymous else q.name


def staff_view(q: Question) -> dict[str, Any]:
    return {
        "id": q.id,
        "text": q.text,
        "original": q.original,
        "name": display_name(q),
        "author": None if q.anonymous else q.author,
        "anonymous": q.anonymous,
        "kind": q.kind.value,
        "source": q.source.value,
        "created": q.created,
        "votes": q.votes,
        "hidden": q.hidden,
        "approved": q.approved,
        "pushed": q.pushed,
        "pushed_at": q.pushed_at,
        "answered": q.answered,
        "answered_at": q.answered_at,
        "version": q.version,
        "edited_by": q.edited_by,
        "edited_at": q.edited_at,
    }


def public_view(q: Question) -> dict[str, Any]:
    return {
        "id": q.id,
        "text": q.text,
        "name": display_name(q),
        "kind": q.kind.value,
        "votes": q.votes,
        "answered": q.answered,
        "edited": q.original is not None,
        "created": q.created,
    }


def screen_view(q: Question) -> dict[str, Any]:
    return {
        "id": q.id,
        "text": q.text,
        "name": display_name(q),
        "kind": q.kind.value,
        "pushed": q.pushed,
        "answered": q.answered,
        "hidden": q.hidden,
    }


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


def author_view(q: Question, visibility: Visibility) -> dict[str, Any]:
    return {
        "id": q.id,
        "text": q.text,
        "status": status(q, visibility).value,
        "votes": q.votes,
        "anonymous": q.anonymous,
        "kind": q.kind.value,
        "edited": q.original is not None,
        "created": q.created,
    }


def audience_sees(q: Question, visibility: Visibility) -> bool:
    if q.hidden or visibility is Visibility.NONE:
        return False
    return visibility is Visibility.ALL or q.approved


# -- reading -------------------------------------------------------------------------


def decode(raw: bytes) -> Question:
    return _dec.decode(raw)


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


async def staff_list(store: Store, event_id: str) -> list[dict[str, Any]]:
    return [staff_view(q) for q in await all_questions(store, event_id)]


async def screen_list(store: Store, event_id: str) -> list[dict[str, Any]]:
    """What a second screen shows: pushed, not answered, not hidden, in push order."""
    shown = [q for q in await all_questions(store, event_id) if q.on_screen]
    shown.sort(key=lambda q: (q.pushed or 0, q.id))
    return [screen_view(q) for q in shown]


async def audience_state(store: Store, event: Event, viewer: Person) -> dict[str, Any]:
    """A participant's part of the snapshot: settings, visible questions, his own, his votes."""
    s = settings_of(event)
    visible: list[dict[str, Any]] = []
    if s.visibility is not Visibility.NONE:
        visible = [
            public_view(q)
            for q in await all_questions(store, event.id)
            if audience_sees(q, s.visibility)
        ]
    mine = await asked_by(store, event.id, viewer.identity)
    return {
        "settings": settings_view(s),
        "questions": visible,
        "mine": [author_view(q, s.visibility) for q in mine],
        "votes": await voted_by(store, event.id, viewer.identity),
    }


# -- the change each transition produces ------------------------------------------------


async def _outcome(
    store: Store, event: Event, qid: str, before: Question | None, after: Question | None
) -> Outcome:
    vis = settings_of(event).visibility
    payloads: dict[Audience, dict[str, Any]] = {
        Audience.STAFF: {"id": qid, "question": None if after is None else staff_view(after)}
    }
    seen_before = before is not None and audience_sees(before, vis)
    seen_after = after is not None and audience_sees(after, vis)
    if seen_before or seen_after:
        old = public_view(before) if before is not None and seen_before else None
        new = public_view(after) if after is not None and seen_after else None
        if old != new:
            payloads[Audience.AUDIENCE] = {"id": qid, "question": new}
    screen_before = before is not None and before.on_screen
    screen_after = after is not None and after.on_screen
    if screen_before or screen_after:
        old = screen_view(before) if before is not None and screen_before else None
        new = screen_view(after) if after is not None and screen_after else None
        if old != new:
            payloads[Audience.SCREEN] = {"id": qid, "question": new}
    change = await changes.record(
        store, Change(event_id=event.id, name="question.changed", payloads=payloads)
    )
    out = Outcome(changes=[change])
    subject = after or before
    if subject is not None and subject.source is not Origin.STAFF:
        old_a = author_view(before, vis) if before is not None else None
        new_a = author_view(after, vis) if after is not None else None
        if old_a != new_a:
            out.notices.append(
                Notice(
                    subject.author,
                    "question.mine",
                    {"id": qid, "question": new_a, "rev": change.rev},
                )
            )
    return out


async def _update(
    store: Store, event_id: str, qid: str, apply: Callable[[Question], None]
) -> tuple[Question, Question]:
    """Compare-and-set one question; `apply` may raise (a stale edit raises `conflict`)."""
    key = keys.questions(event_id)
    for _ in range(100):
        raw = await store.hget(key, qid)
        if raw is None:
            raise not_found("question")
        before = _dec.decode(raw)
        after = _dec.decode(raw)
        apply(after)
        if after == before:
            return before, after
        if await store.hcas(key, qid, raw, _enc.encode(after)):
            return before, after
    raise TribuneError(Code.CONFLICT, "the question is being changed too often; try again")


async def _create(store: Store, event: Event, q: Question) -> Outcome:
    await store.hset(keys.questions(event.id), q.id, _enc.encode(q))
    await store.rpush(keys.questions_by(event.id, q.author), q.id.encode())
    out = await _outcome(store, event, q.id, None, q)
    out.ack = {"question": staff_view(q)}
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
    require_running(event)
    text = clean(text, limits.question_length, "text", "question")
    if anonymous and not settings_of(event).anonymous:
        raise forbidden("this event does not accept anonymous questions")
    if not can(who.role, Action.MODERATE_QUESTIONS) and not await ratelimit.take(
        store, keys.question_throttle(event_id), who.identity, limits.questions_rate
    ):
        raise TribuneError(Code.RATE_LIMITED, "you are asking too fast; wait a little")
    q = Question(
        id=new_id("q"),
        text=text,
        author=who.identity,
        name="" if anonymous else who.name,
        created=now(),
        anonymous=anonymous,
    )
    out = await _create(store, event, q)
    out.ack = {"question": author_view(q, settings_of(event).visibility)}
    return out


async def vote(store: Store, event_id: str, who: Person, qid: str, up: bool = True) -> Outcome:
    """Upvote (or take back the vote on) a question the voter can see; once per person."""
    event = await load_event(store, event_id)
    require_running(event)
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
        return Outcome(ack={"votes": q.votes, "voted": up})

    def apply(q: Question) -> None:
        q.votes = max(0, q.votes + (1 if up else -1))

    before, after = await _update(store, event_id, qid, apply)
    out = await _outcome(store, event, qid, before, after)
    out.ack = {"votes": after.votes, "voted": up}
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
    await audit.record(store, event_id, who, "question.add", f"question:{q.id}", None, {
        "text": q.text, "kind": q.kind.value
    })
    return await _create(store, event, q)


async def create_from(
    store: Store, event: Event, who: Person, author: str, name: str, text: str, action: str,
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
    await audit.record(store, event.id, who, action, source_ref, None, {
        "question": q.id, "text": q.text
    })
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
        return Outcome(ack={"question": staff_view(after)})
    b, a = audit.diff(before, after)
    await audit.record(store, event_id, who, action, f"question:{qid}", b, a)
    out = await _outcome(store, event, qid, before, after)
    out.ack = {"question": staff_view(after)}
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
    key = keys.questions(event_id)
    for _ in range(100):
        raw = await store.hget(key, qid)
        if raw is None:
            raise not_found("question")
        if await store.hcas(key, qid, raw, None):
            before = _dec.decode(raw)
            break
    else:
        raise TribuneError(Code.CONFLICT, "the question is being changed too often; try again")
    await audit.record(
        store, event_id, who, "question.delete", f"question:{qid}", staff_view(before), None
    )
    out = await _outcome(store, event, qid, before, None)
    out.ack = {"id": qid}
    return out


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
            e.settings["question_visibility"] = visibility.value
        if anonymous is not None:
            e.settings["anonymous_questions"] = anonymous

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
