"""Polls: preparing, opening, one ballot per participant (a new vote replaces it), results."""

from __future__ import annotations

import asyncio

import pytest

from moderation import audit, polls
from moderation.poll_views import Results
from room.changes import Audience
from room.errors import Code, TribuneError
from room.records import Event
from room.store import Store
from room.types import Role
from tests.moderation.conftest import person

ORG = person(Role.ORGANIZER)


async def make(store, event, **kw):
    kw.setdefault("question", "Tea or coffee?")
    kw.setdefault("options", ["Tea", "Coffee", "Neither"])
    out = await polls.create(store, event.id, ORG, **kw)
    return out.ack.poll.id


async def test_draft_is_staff_only(store: Store, event: Event):
    out = await polls.create(store, event.id, ORG, "Q?", ["a", "b"])
    [change] = out.changes
    assert change.name == "poll.changed" and set(change.payloads) == {Audience.STAFF}
    assert change.payloads[Audience.STAFF]["poll"]["state"] == "draft"
    assert await polls.audience_state(store, event.id, person()) is None


@pytest.mark.parametrize(
    ("question", "options", "field"),
    [
        ("", ["a", "b"], "question"),
        ("Q", ["only one"], "options"),
        ("Q", ["a", " "], "options"),
        ("Q", ["same", "same"], "options"),
        ("Q", [str(i) for i in range(11)], "options"),
    ],
)
async def test_bad_polls_are_invalid(store: Store, event: Event, question, options, field):
    with pytest.raises(TribuneError) as err:
        await polls.create(store, event.id, ORG, question, options)
    assert (err.value.code, err.value.field) == (Code.INVALID, field)


async def test_open_vote_replace_close(store: Store, event: Event):
    pid = await make(store, event, show_results=True)
    a, b, c = person(), person(), person()
    with pytest.raises(TribuneError) as err:
        await polls.vote(store, event.id, a, pid, [0])
    assert err.value.code is Code.CONFLICT  # not open yet
    out = await polls.open_poll(store, event.id, ORG, pid)
    [change] = out.changes
    assert change.payloads[Audience.AUDIENCE]["poll"]["state"] == "open"
    await polls.vote(store, event.id, a, pid, [0])
    await polls.vote(store, event.id, b, pid, [1])
    await polls.vote(store, event.id, c, pid, [1])
    change = await polls.results_change(store, event.id, pid)
    assert change is not None and change.name == "poll.results"
    assert change.payloads[Audience.STAFF]["counts"] == [1, 2, 0]
    assert change.payloads[Audience.AUDIENCE]["voters"] == 3  # show_results: the audience too
    # a second vote replaces the first: c changes his mind
    await polls.vote(store, event.id, c, pid, [2])
    r = await polls.tally(store, event.id, await polls.get(store, event.id, pid))
    assert (r.counts, r.voters) == ([1, 1, 1], 3)
    assert await polls.ballot_of(store, event.id, pid, c.identity) == [2]
    state = await polls.audience_state(store, event.id, c)
    assert state is not None
    assert state.ballot == [2] and state.results is not None and state.results.counts == [1, 1, 1]
    out = await polls.close(store, event.id, ORG, pid)
    [change] = out.changes
    assert change.payloads[Audience.AUDIENCE]["poll"]["results"] == {"counts": [1, 1, 1], "voters": 3}
    with pytest.raises(TribuneError) as err:
        await polls.vote(store, event.id, a, pid, [1])
    assert err.value.code is Code.CONFLICT
    closed = await polls.get(store, event.id, pid)
    assert (await polls.results(store, event.id, closed)) == Results([1, 1, 1], 3)
    assert await polls.ballot_of(store, event.id, pid, a.identity) == [0]  # refused: unchanged
    assert await polls.results_change(store, event.id, pid) is None
    entries = await audit.entries(store, event.id)
    assert [e.action for e in entries] == ["poll.create", "poll.open", "poll.close"]
    assert entries[-1].after == {"state": "closed", "counts": [1, 1, 1], "voters": 3}


async def test_results_hidden_from_audience_unless_shown(store: Store, event: Event):
    pid = await make(store, event)
    await polls.open_poll(store, event.id, ORG, pid)
    await polls.vote(store, event.id, person(), pid, [0])
    change = await polls.results_change(store, event.id, pid)
    assert change is not None and set(change.payloads) == {Audience.STAFF}
    out = await polls.close(store, event.id, ORG, pid)
    assert out.changes[0].payloads[Audience.AUDIENCE]["poll"]["results"] is None


async def test_choice_rules(store: Store, event: Event):
    single = await make(store, event)
    multi = await make(store, event, question="Which?", multiple=True)
    await polls.open_poll(store, event.id, ORG, single)
    voter = person()
    for choices in ([], [0, 1], [3], [-1], [0, 0]):
        with pytest.raises(TribuneError) as err:
            await polls.vote(store, event.id, voter, single, choices)
        assert (err.value.code, err.value.field) == (Code.INVALID, "choices")
    await polls.open_poll(store, event.id, ORG, multi)
    out = await polls.vote(store, event.id, voter, multi, [2, 0])
    assert out.ack.choices == [0, 2]
    r = await polls.tally(store, event.id, await polls.get(store, event.id, multi))
    assert r.counts == [1, 0, 1] and r.voters == 1


async def test_opening_a_poll_closes_the_open_one(store: Store, event: Event):
    first, second = await make(store, event), await make(store, event, question="Next?")
    await polls.open_poll(store, event.id, ORG, first)
    out = await polls.open_poll(store, event.id, ORG, second)
    states = {c.payloads[Audience.STAFF]["id"]: c.payloads[Audience.STAFF]["poll"]["state"]
              for c in out.changes}
    assert states == {first: "closed", second: "open"}
    assert (await polls.current(store, event.id)).id == second
    assert (await polls.get(store, event.id, first)).state.value == "closed"


async def test_update_and_delete_rules(store: Store, event: Event):
    pid = await make(store, event)
    out = await polls.update(store, event.id, ORG, pid, 1, question="Tea or coffee, really?")
    assert out.ack.poll.question == "Tea or coffee, really?"
    with pytest.raises(TribuneError) as err:
        await polls.update(store, event.id, ORG, pid, 1, question="stale")
    assert err.value.code is Code.CONFLICT
    await polls.open_poll(store, event.id, ORG, pid)
    with pytest.raises(TribuneError) as err:
        await polls.update(store, event.id, ORG, pid, 2, options=["x", "y"])
    assert err.value.code is Code.CONFLICT  # wording is fixed once open
    out = await polls.update(store, event.id, ORG, pid, 2, show_results=True)
    assert Audience.AUDIENCE in out.changes[0].payloads
    with pytest.raises(TribuneError) as err:
        await polls.delete(store, event.id, ORG, pid)
    assert err.value.code is Code.CONFLICT
    await polls.close(store, event.id, ORG, pid)
    await polls.delete(store, event.id, ORG, pid)
    assert await polls.all_polls(store, event.id) == []


async def test_results_are_kept_after_the_event(store: Store, event: Event):
    from room import live

    pid = await make(store, event)
    await polls.open_poll(store, event.id, ORG, pid)
    await polls.vote(store, event.id, person(), pid, [1])
    await live.start(store, event.id)
    await live.end(store, event.id)
    [view] = await polls.staff_list(store, event.id)
    assert view.results == Results([0, 1, 0], 1)


async def test_votes_racing_a_close_are_either_counted_or_refused(store: Store, event: Event):
    pid = await make(store, event)
    await polls.open_poll(store, event.id, ORG, pid)
    voters = [person() for _ in range(60)]

    async def vote(v):
        try:
            await polls.vote(store, event.id, v, pid, [1])
            return True
        except TribuneError as err:
            assert err.code is Code.CONFLICT
            return False

    tasks = [vote(v) for v in voters[:30]] + [polls.close(store, event.id, ORG, pid)]
    tasks += [vote(v) for v in voters[30:]]
    results = await asyncio.gather(*tasks)
    accepted = sum(1 for r in results if r is True)
    closed = await polls.get(store, event.id, pid)
    r = await polls.results(store, event.id, closed)
    assert r.voters == accepted and r.counts == [0, accepted, 0]
    for v, ok in zip(voters, results[:30] + results[31:], strict=True):
        assert (await polls.ballot_of(store, event.id, pid, v.identity) is not None) == ok
