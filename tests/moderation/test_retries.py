"""Client ids and caps: a retried ask or send answers the original record and creates
nothing; an event's questions and chat stop at their cap, exactly, under concurrency."""

from __future__ import annotations

import asyncio

import pytest

from moderation import chat, keys, questions
from moderation.limits import Limits
from room import client_ids
from room.errors import Code, TribuneError
from room.records import Event
from room.store import Store
from room.types import Role
from tests.moderation.conftest import person


async def test_an_ask_retried_with_its_cid_answers_the_first_question(store: Store, event: Event):
    alice = person()
    first = await questions.ask(store, event.id, alice, "Slides?", cid="c-1")
    again = await questions.ask(store, event.id, alice, "Slides?", cid="c-1")
    assert again.ack == first.ack and again.changes == [] and again.notices == []
    assert first.changes  # only the first try tells staff
    assert [q.id for q in await questions.asked_by(store, event.id, alice.identity)] == [
        first.ack.question.id
    ]
    other = await questions.ask(store, event.id, alice, "Slides?", cid="c-2")
    someone = await questions.ask(store, event.id, person(), "Slides?", cid="c-1")
    ids = {first.ack.question.id, other.ack.question.id, someone.ack.question.id}
    assert len(ids) == 3 and len(await questions.all_questions(store, event.id)) == 3


async def test_200_simultaneous_retries_of_one_cid_make_one_question(store: Store, event: Event):
    alice = person()
    outs = await asyncio.gather(
        *(questions.ask(store, event.id, alice, "Once?", cid="same") for _ in range(200))
    )
    assert len({o.ack.question.id for o in outs}) == 1
    assert all(o.ack == outs[0].ack for o in outs)
    assert sum(1 for o in outs if o.changes) == 1
    assert len(await questions.all_questions(store, event.id)) == 1
    assert len(await questions.asked_by(store, event.id, alice.identity)) == 1


async def test_a_retry_after_a_first_try_died_writes_the_reserved_question(
    store: Store, event: Event
):
    alice, bob = person(), person()
    # alice's first try reserved its id, then its node died before writing the question
    await client_ids.claim(store, keys.question_cids(event.id), "lost", alice.identity, "q_kept")
    out = await questions.ask(store, event.id, alice, "Still there?", cid="lost")
    assert out.ack.question.id == "q_kept" and out.changes
    # bob's first try wrote the question, then died before listing it as his
    first = await questions.ask(store, event.id, bob, "Mine?", cid="half")
    await store.delete(keys.questions_by(event.id, bob.identity))
    again = await questions.ask(store, event.id, bob, "Mine?", cid="half")
    assert again.ack == first.ack
    assert [q.id for q in await questions.asked_by(store, event.id, bob.identity)] == [
        first.ack.question.id
    ]
    assert len(await questions.all_questions(store, event.id)) == 2


async def test_retries_are_not_rate_limited_but_new_questions_are(store: Store, event: Event):
    alice = person()
    for i in range(5):
        await questions.ask(store, event.id, alice, f"Q{i}?", cid=f"c{i}")
    again = await questions.ask(store, event.id, alice, "Q0?", cid="c0")
    assert again.ack.question.text == "Q0?"
    with pytest.raises(TribuneError) as err:
        await questions.ask(store, event.id, alice, "Q5?", cid="c5")
    assert err.value.code is Code.RATE_LIMITED


async def test_a_message_retried_with_its_cid_answers_the_first(store: Store, event: Event):
    alice = person()
    outs = await asyncio.gather(
        *(chat.send(store, event.id, alice, "hello", cid="m-1") for _ in range(200))
    )
    assert all(o.ack == outs[0].ack for o in outs)
    assert sum(1 for o in outs if o.changes) == 1
    [m] = await chat.recent(store, event.id, alice)
    assert m.id == outs[0].ack.message.id
    other = await chat.send(store, event.id, alice, "hello", cid="m-2")
    assert other.ack.message.id != m.id
    # a first try that wrote the message and died before ordering it: the retry orders it
    await store.zrem(keys.chat_order(event.id), m.id)
    assert (await chat.send(store, event.id, alice, "hello", cid="m-1")).ack == outs[0].ack
    assert [x.id for x in await chat.recent(store, event.id, alice)] == [m.id, other.ack.message.id]


async def test_the_question_cap_holds_under_concurrency(store: Store, event: Event):
    limits = Limits(questions_per_event=50)
    outs = await asyncio.gather(
        *(questions.ask(store, event.id, person(), f"Q{i}?", limits=limits) for i in range(200)),
        return_exceptions=True,
    )
    refused = [o for o in outs if isinstance(o, TribuneError)]
    assert len(refused) == 150 and {e.code for e in refused} == {Code.LIMIT_REACHED}
    assert "limit of 50 questions" in refused[0].message
    assert len(await questions.all_questions(store, event.id)) == 50
    with pytest.raises(TribuneError) as err:  # staff are bounded too
        await questions.add(store, event.id, person(Role.ORGANIZER), "Ours", limits=limits)
    assert err.value.code is Code.LIMIT_REACHED
    await questions.delete(store, event.id, person(Role.ORGANIZER), outs[0].ack.question.id)
    await questions.ask(store, event.id, person(), "Room again?", limits=limits)


async def test_the_chat_cap_holds_under_concurrency(store: Store, event: Event):
    limits = Limits(chat_per_event=50)
    outs = await asyncio.gather(
        *(chat.send(store, event.id, person(), f"m{i}", limits) for i in range(200)),
        return_exceptions=True,
    )
    refused = [o for o in outs if isinstance(o, TribuneError)]
    assert len(refused) == 150 and {e.code for e in refused} == {Code.LIMIT_REACHED}
    assert await store.hlen(keys.chat(event.id)) == 50
    assert await store.zcard(keys.chat_order(event.id)) == 50
