"""Votes on questions: once per person, each marked and counted in one atomic step.

A voter's marks are his `votes_by` hash (one field per question). `Store.hmark` sets or
deletes a mark and moves the question's count in `vote_counts` with it, atomically: no
crash or concurrent vote can leave a mark uncounted or a count unmarked. A question's
votes are its record's `votes` (what the record counted before votes were kept this way:
stored events keep their counts, and their voters' marks still count once) plus that
count; nothing writes the record's `votes` any more.
"""

from __future__ import annotations

import msgspec
from msgspec.structs import replace

from moderation import keys, question_views
from moderation.items import Question
from moderation.outcome import Outcome
from moderation.question_settings import settings_of
from moderation.question_views import VoteAck, audience_sees
from room import lifecycle
from room.errors import forbidden, not_found
from room.events import load_event
from room.records import Person
from room.store import Store

_dec = msgspec.msgpack.Decoder(Question)


async def counted(store: Store, event_id: str, qs: list[Question]) -> list[Question]:
    """`qs`, each with its votes: the record's plus those counted with their marks."""
    if not qs:
        return qs
    raws = await store.hmget(keys.vote_counts(event_id), [q.id for q in qs])
    for q, raw in zip(qs, raws, strict=True):
        if raw is not None:
            q.votes = max(0, q.votes + int(raw))
    return qs


async def voted_by(store: Store, event_id: str, identity: str) -> list[str]:
    """The ids of the questions one person voted for."""
    return sorted(await store.hgetall(keys.votes_by(event_id, identity)))


async def vote(store: Store, event_id: str, who: Person, qid: str, up: bool = True) -> Outcome:
    """Upvote (or take back the vote on) a question the voter can see; once per person."""
    event = await load_event(store, event_id)
    lifecycle.require_open(event)
    raw = await store.hget(keys.questions(event_id), qid)
    if raw is None:
        raise not_found("question")
    q = _dec.decode(raw)
    visibility = settings_of(event).visibility
    if not audience_sees(q, visibility):
        raise not_found("question")
    if q.author == who.identity:
        raise forbidden("you cannot vote for your own question")
    changed, count = await store.hmark(
        keys.votes_by(event_id, who.identity), qid, up, keys.vote_counts(event_id), qid
    )
    if not changed:
        return Outcome(ack=VoteAck(max(0, q.votes + count), up))
    raw = await store.hget(keys.questions(event_id), qid)  # the question as it is now
    if raw is None:  # deleted meanwhile: nothing left to show
        return Outcome(ack=VoteAck(max(0, q.votes + count), up))
    current = _dec.decode(raw)
    after = replace(current, votes=max(0, current.votes + count))
    before = replace(current, votes=max(0, current.votes + count - (1 if up else -1)))
    out = await question_views.changed(store, event_id, visibility, qid, before, after)
    out.ack = VoteAck(after.votes, up)
    return out
