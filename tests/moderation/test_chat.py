"""Chat and its moderation: send, limits, mute, delete, chat to question."""

from __future__ import annotations

import pytest

from moderation import audit, chat, questions
from moderation.limits import Limits
from room.changes import Audience
from room.errors import Code, TribuneError
from room.records import Event
from room.store import Store
from room.types import Role
from tests.moderation.conftest import person, seat


async def test_send_reaches_everyone_but_screens(store: Store, event: Event):
    alice = person(name="Alice")
    out = await chat.send(store, event.id, alice, " hello <b>all</b> ")
    [change] = out.changes
    assert change.name == "chat.message"
    assert set(change.payloads) == {Audience.STAFF, Audience.AUDIENCE}
    assert change.payloads[Audience.AUDIENCE]["message"]["text"] == "hello <b>all</b>"
    assert "author" not in change.payloads[Audience.AUDIENCE]["message"]
    assert change.payloads[Audience.STAFF]["message"]["author"] == alice.identity
    [m] = await chat.recent(store, event.id, alice)
    assert m.mine is True and m.name == "Alice"
    [m] = await chat.recent(store, event.id, person())
    assert m.mine is False and not hasattr(m, "author")


async def test_recent_keeps_the_last_messages_in_order(store: Store, event: Event):
    sender = person(Role.PRESENTER)
    for i in range(7):
        await chat.send(store, event.id, sender, f"m{i}")
    got = await chat.recent(store, event.id, person(), Limits(chat_history=3))
    assert [m.text for m in got] == ["m4", "m5", "m6"]


@pytest.mark.parametrize("text", ["", "   ", "x" * 1001])
async def test_bad_text_is_invalid(store: Store, event: Event, text: str):
    with pytest.raises(TribuneError) as err:
        await chat.send(store, event.id, person(), text)
    assert (err.value.code, err.value.field) == (Code.INVALID, "text")


async def test_flood_is_rate_limited_per_person(store: Store, event: Event):
    limits = Limits(chat_burst=4, chat_every=3600)
    flooder = person()
    for i in range(4):
        await chat.send(store, event.id, flooder, f"{i}", limits)
    with pytest.raises(TribuneError) as err:
        await chat.send(store, event.id, flooder, "more", limits)
    assert err.value.code is Code.RATE_LIMITED
    await chat.send(store, event.id, person(), "someone else", limits)
    mod = person(Role.COLLABORATOR)
    for i in range(6):
        await chat.send(store, event.id, mod, f"staff {i}", limits)


async def test_delete_removes_for_everyone_and_is_audited(store: Store, event: Event):
    mod = person(Role.COLLABORATOR, "Max")
    mid = (await chat.send(store, event.id, person(), "spam")).ack.message.id
    out = await chat.delete(store, event.id, mod, mid)
    [change] = out.changes
    assert change.name == "chat.deleted"
    assert change.payloads[Audience.AUDIENCE]["id"] == mid
    assert await chat.recent(store, event.id, mod) == []
    [entry] = await audit.entries(store, event.id)
    assert entry.action == "chat.delete" and entry.before["text"] == "spam"
    assert entry.by_name == "Max"
    with pytest.raises(TribuneError) as err:
        await chat.delete(store, event.id, mod, mid)
    assert err.value.code is Code.NOT_FOUND


async def test_mute_and_unmute(store: Store, event: Event):
    mod = person(Role.PRESENTER)
    troll = await seat(store, event, person(name="Troll"))
    out = await chat.mute(store, event.id, mod, troll.identity)
    [change] = out.changes
    assert change.name == "chat.muted" and set(change.payloads) == {Audience.STAFF}
    assert out.notices[0].identity == troll.identity
    assert out.notices[0].payload.muted is True
    with pytest.raises(TribuneError) as err:
        await chat.send(store, event.id, troll, "let me speak")
    assert err.value.code is Code.FORBIDDEN
    assert await chat.muted(store, event.id) == [troll.identity]
    assert (await chat.mute(store, event.id, mod, troll.identity)).changes == []
    await chat.mute(store, event.id, mod, troll.identity, on=False)
    await chat.send(store, event.id, troll, "thanks")
    actions = [e.action for e in await audit.entries(store, event.id)]
    assert actions == ["chat.mute", "chat.unmute"]


async def test_staff_cannot_be_muted(store: Store, event: Event):
    presenter = await seat(store, event, person(Role.PRESENTER))
    with pytest.raises(TribuneError) as err:
        await chat.mute(store, event.id, person(Role.ORGANIZER), presenter.identity)
    assert err.value.code is Code.FORBIDDEN
    with pytest.raises(TribuneError) as err:
        await chat.mute(store, event.id, person(Role.ORGANIZER), "nobody")
    assert err.value.code is Code.NOT_FOUND


async def test_chat_to_question_once(store: Store, event: Event):
    mod, alice = person(Role.COLLABORATOR), person(name="Alice")
    mid = (await chat.send(store, event.id, alice, "Is there a replay?")).ack.message.id
    out = await chat.to_question(store, event.id, mod, mid)
    [change] = out.changes
    q = change.payloads[Audience.STAFF]["question"]
    assert q["text"] == "Is there a replay?" and q["source"] == "chat"
    assert q["name"] == "Alice" and q["author"] == alice.identity and q["approved"]
    assert out.notices[0].identity == alice.identity
    assert [x.id for x in await questions.asked_by(store, event.id, alice.identity)] == [q["id"]]
    with pytest.raises(TribuneError) as err:
        await chat.to_question(store, event.id, mod, mid)
    assert err.value.code is Code.CONFLICT
    assert len(await questions.all_questions(store, event.id)) == 1
    [entry] = await audit.entries(store, event.id)
    assert entry.action == "chat.to_question" and entry.target == f"message:{mid}"
    assert entry.after["question"] == q["id"]


async def test_an_events_chat_is_capped(store: Store, event: Event):
    limits = Limits(chat_per_event=3)
    for i in range(3):
        await chat.send(store, event.id, person(), f"m{i}", limits)
    for who in (person(), person(Role.ORGANIZER)):  # staff too: the store's room is bounded
        with pytest.raises(TribuneError) as err:
            await chat.send(store, event.id, who, "one more", limits)
        assert err.value.code is Code.LIMIT_REACHED and "limit of 3 messages" in err.value.message
