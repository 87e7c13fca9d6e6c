"""Votes: marked and counted in one atomic step, exact under concurrency, and votes
counted before that (in the question's record) still count."""

from __future__ import annotations

import asyncio

from moderation import keys, question_lists, questions, votes
from moderation.items import Question
from moderation.question_views import VoteAck
from room.records import Event, decode, encode
from room.store import Store
from room.types import Role
from tests.moderation.conftest import person, set_visibility


async def _asked(store: Store, event: Event, text: str = "Vote me") -> str:
    await set_visibility(store, event, "all")
    return (await questions.ask(store, event.id, person(), text)).ack.question.id


async def test_hundreds_of_simultaneous_votes_give_the_exact_count(store: Store, event: Event):
    qid = await _asked(store, event)
    voters = [person() for _ in range(300)]
    outs = await asyncio.gather(*(votes.vote(store, event.id, v, qid) for v in voters))
    assert sorted(o.ack.votes for o in outs) == list(range(1, 301))  # each its own step
    again = await asyncio.gather(*(votes.vote(store, event.id, v, qid) for v in voters[:100]))
    assert all(o.changes == [] for o in again)  # a repeated vote counts once
    taken_back = await asyncio.gather(
        *(votes.vote(store, event.id, v, qid, up=False) for v in voters[200:] * 2)
    )
    assert sum(1 for o in taken_back if o.changes) == 100
    assert (await questions.get(store, event.id, qid)).votes == 200
    assert await store.hget(keys.vote_counts(event.id), qid) == b"200"
    marked = [await votes.voted_by(store, event.id, v.identity) for v in voters]
    assert [bool(m) for m in marked] == [True] * 200 + [False] * 100


async def test_votes_and_moderation_at_once_lose_nothing(store: Store, event: Event):
    qid = await _asked(store, event)
    mod = person(Role.COLLABORATOR)
    await asyncio.gather(
        *(votes.vote(store, event.id, person(), qid) for _ in range(100)),
        *(questions.push(store, event.id, mod, qid) for _ in range(20)),
        questions.edit(store, event.id, mod, qid, "Vote me, please", 1),
    )
    q = await questions.get(store, event.id, qid)
    assert (q.votes, q.text, q.on_screen) == (100, "Vote me, please", True)
    [listed] = await question_lists.staff_list(store, event.id)
    assert (listed.votes, listed.text) == (100, "Vote me, please")
    stored = decode(await store.hget(keys.questions(event.id), qid), Question)
    assert stored.votes == 0  # the record is never written from a counted copy


async def test_votes_counted_in_the_record_before_still_count(store: Store, event: Event):
    """Events stored before marks and counts moved together: the record holds the count
    and each voter's mark is in his `votes_by` hash."""
    qid = await _asked(store, event)
    old_a, old_b, new = person(), person(), person()
    raw = await store.hget(keys.questions(event.id), qid)
    q = decode(raw, Question)
    q.votes = 2
    assert await store.hcas(keys.questions(event.id), qid, raw, encode(q))
    for voter in (old_a, old_b):
        await store.hset(keys.votes_by(event.id, voter.identity), qid, b"1")
    assert (await questions.get(store, event.id, qid)).votes == 2
    assert (await votes.vote(store, event.id, new, qid)).ack == VoteAck(votes=3, voted=True)
    again = await votes.vote(store, event.id, old_a, qid)  # voted before: once only
    assert again.changes == [] and again.ack == VoteAck(votes=3, voted=True)
    assert (await votes.vote(store, event.id, old_a, qid, up=False)).ack.votes == 2
    assert (await votes.vote(store, event.id, old_a, qid)).ack.votes == 3
    [listed] = await question_lists.staff_list(store, event.id)
    assert listed.votes == 3
    assert [x.votes for x in await questions.all_questions(store, event.id)] == [3]


async def test_a_deleted_question_takes_its_count_along(store: Store, event: Event):
    qid = await _asked(store, event)
    await votes.vote(store, event.id, person(), qid)
    await questions.delete(store, event.id, person(Role.ORGANIZER), qid)
    assert await store.hget(keys.vote_counts(event.id), qid) is None
