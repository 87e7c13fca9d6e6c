"""Questions: every transition, what each audience receives, the approved queue, stale edits."""

from __future__ import annotations

import asyncio

import pytest

from moderation import audit, question_lists, question_settings, questions, votes
from moderation.items import QuestionKind
from moderation.limits import Limits
from moderation.question_views import VoteAck
from room.changes import Audience
from room.errors import Code, TribuneError
from room.event_settings import Visibility
from room.records import Event
from room.store import Store
from room.types import Role
from tests.moderation.conftest import person, set_visibility


def only(out, name="question.changed"):
    assert [c.name for c in out.changes] == [name]
    return out.changes[0]


async def test_ask_reaches_staff_and_author_only_by_default(store: Store, event: Event):
    alice = person(name="Alice")
    out = await questions.ask(store, event.id, alice, "  How do I join?  ")
    change = only(out)
    staff = change.payloads[Audience.STAFF]["question"]
    assert staff["text"] == "How do I join?"
    assert staff["name"] == "Alice" and staff["author"] == alice.identity
    assert staff["hidden"] is False and staff["pushed"] is None and staff["version"] == 1
    assert set(change.payloads) == {Audience.STAFF}  # visibility none: participants see nothing
    [notice] = out.notices
    assert notice.identity == alice.identity and notice.name == "question.mine"
    assert notice.payload.question.status == "received"
    assert notice.payload.rev == change.rev
    assert out.ack.question.id == staff["id"]
    assert [q.text for q in await question_lists.staff_list(store, event.id)] == ["How do I join?"]
    mine = await questions.asked_by(store, event.id, alice.identity)
    assert [q.id for q in mine] == [staff["id"]]


@pytest.mark.parametrize("text", ["", "   ", "\n\t ", "\x00\x01"])
async def test_empty_question_is_invalid(store: Store, event: Event, text: str):
    with pytest.raises(TribuneError) as err:
        await questions.ask(store, event.id, person(), text)
    assert (err.value.code, err.value.field) == (Code.INVALID, "text")


async def test_oversized_question_is_invalid_and_limit_is_inclusive(store: Store, event: Event):
    limits = Limits(question_length=20)
    await questions.ask(store, event.id, person(), "x" * 20, limits=limits)
    with pytest.raises(TribuneError) as err:
        await questions.ask(store, event.id, person(), "x" * 21, limits=limits)
    assert (err.value.code, err.value.field) == (Code.INVALID, "text")


async def test_markup_is_stored_as_text(store: Store, event: Event):
    text = '<img src=x onerror="alert(1)"><b>bold</b> & more'
    out = await questions.ask(store, event.id, person(), text)
    assert out.changes[0].payloads[Audience.STAFF]["question"]["text"] == text


async def test_anonymous_question_hides_the_author_from_everyone(store: Store, event: Event):
    await set_visibility(store, event, "all")
    bob = person(name="Bob")
    out = await questions.ask(store, event.id, bob, "Secret?", anonymous=True)
    change = only(out)
    staff = change.payloads[Audience.STAFF]["question"]
    assert staff["name"] == "Anonymous" and staff["author"] is None and staff["anonymous"]
    assert change.payloads[Audience.AUDIENCE]["question"]["name"] == "Anonymous"
    assert "Bob" not in repr(change.payloads)
    assert out.notices[0].identity == bob.identity  # he still sees his own question's status


async def test_anonymous_refused_when_event_does_not_allow_it(store: Store, event: Event):
    await question_settings.configure(store, event.id, person(Role.ORGANIZER), anonymous=False)
    with pytest.raises(TribuneError) as err:
        await questions.ask(store, event.id, person(), "Who am I?", anonymous=True)
    assert err.value.code is Code.FORBIDDEN


async def test_rate_limit_per_participant_and_staff_exempt(store: Store, event: Event):
    limits = Limits(questions_burst=3, questions_every=3600)
    flooder, other, presenter = person(), person(), person(Role.PRESENTER)
    for i in range(3):
        await questions.ask(store, event.id, flooder, f"q{i}", limits=limits)
    with pytest.raises(TribuneError) as err:
        await questions.ask(store, event.id, flooder, "one too many", limits=limits)
    assert err.value.code is Code.RATE_LIMITED
    await questions.ask(store, event.id, other, "I am not limited by him", limits=limits)
    for i in range(5):
        await questions.ask(store, event.id, presenter, f"staff {i}", limits=limits)
    assert len(await questions.all_questions(store, event.id)) == 3 + 1 + 5


async def test_visibility_all_shows_questions_and_hide_removes_them(store: Store, event: Event):
    await set_visibility(store, event, "all")
    mod, alice = person(Role.COLLABORATOR), person()
    qid = (await questions.ask(store, event.id, alice, "Visible?")).ack.question.id
    out = await questions.hide(store, event.id, mod, qid)
    change = only(out)
    assert change.payloads[Audience.AUDIENCE] == {"id": qid, "question": None, "rev": change.rev}
    assert change.payloads[Audience.STAFF]["question"]["hidden"] is True
    assert out.notices[0].payload.question.status == "hidden"
    out = await questions.hide(store, event.id, mod, qid, hidden=False)
    assert only(out).payloads[Audience.AUDIENCE]["question"]["text"] == "Visible?"
    # the same state again changes nothing and records nothing
    again = await questions.hide(store, event.id, mod, qid, hidden=False)
    assert again.changes == [] and again.ack.question.hidden is False
    actions = [e.action for e in await audit.entries(store, event.id)]
    assert actions == ["question.hide", "question.unhide"]


async def test_approved_queue(store: Store, event: Event):
    await set_visibility(store, event, "approved")
    mod, alice, bob = person(Role.COLLABORATOR), person(), person()
    out = await questions.ask(store, event.id, alice, "Queued?")
    qid = out.ack.question.id
    assert out.ack.question.status == "pending"
    assert Audience.AUDIENCE not in out.changes[0].payloads
    state = await question_lists.audience_state(store, await _event(store, event), bob)
    assert state.questions == [] and state.settings.visibility == "approved"
    with pytest.raises(TribuneError) as err:
        await votes.vote(store, event.id, bob, qid)
    assert err.value.code is Code.NOT_FOUND  # participants cannot see (or vote) it yet
    out = await questions.approve(store, event.id, mod, qid)
    assert only(out).payloads[Audience.AUDIENCE]["question"]["text"] == "Queued?"
    assert out.notices[0].payload.question.status == "approved"
    state = await question_lists.audience_state(store, await _event(store, event), bob)
    assert [q.id for q in state.questions] == [qid]
    await votes.vote(store, event.id, bob, qid)
    out = await questions.approve(store, event.id, mod, qid, approved=False)
    assert only(out).payloads[Audience.AUDIENCE]["question"] is None
    [entry] = [e for e in await audit.entries(store, event.id) if e.action == "question.approve"]
    assert (entry.before, entry.after) == ({"approved": False}, {"approved": True})
    assert entry.by == mod.identity and entry.by_role == "collaborator" and entry.at > 0


async def _event(store: Store, event: Event) -> Event:
    from room.events import load_event

    return await load_event(store, event.id)


async def test_votes_once_per_person_and_never_on_own(store: Store, event: Event):
    await set_visibility(store, event, "all")
    alice, bob, carol = person(), person(), person()
    qid = (await questions.ask(store, event.id, alice, "Vote me")).ack.question.id
    out = await votes.vote(store, event.id, bob, qid)
    assert out.ack == VoteAck(votes=1, voted=True)
    assert only(out).payloads[Audience.AUDIENCE]["question"]["votes"] == 1
    assert out.notices[0].identity == alice.identity  # the author sees his votes
    again = await votes.vote(store, event.id, bob, qid)
    assert again.changes == [] and again.ack.votes == 1
    await votes.vote(store, event.id, carol, qid)
    assert (await questions.get(store, event.id, qid)).votes == 2
    assert await votes.voted_by(store, event.id, bob.identity) == [qid]
    out = await votes.vote(store, event.id, bob, qid, up=False)
    assert out.ack == VoteAck(votes=1, voted=False)
    assert await votes.voted_by(store, event.id, bob.identity) == []
    with pytest.raises(TribuneError) as err:
        await votes.vote(store, event.id, alice, qid)
    assert err.value.code is Code.FORBIDDEN


async def test_concurrent_votes_are_all_counted(store: Store, event: Event):
    await set_visibility(store, event, "all")
    qid = (await questions.ask(store, event.id, person(), "Popular")).ack.question.id
    voters = [person() for _ in range(40)]
    await asyncio.gather(*(votes.vote(store, event.id, v, qid) for v in voters))
    await asyncio.gather(*(votes.vote(store, event.id, v, qid) for v in voters[:10]))
    assert (await questions.get(store, event.id, qid)).votes == 40


async def test_votes_need_visible_questions(store: Store, event: Event):
    qid = (await questions.ask(store, event.id, person(), "Private")).ack.question.id
    with pytest.raises(TribuneError) as err:
        await votes.vote(store, event.id, person(), qid)
    assert err.value.code is Code.NOT_FOUND


async def test_push_order_answered_and_unpush_on_the_screen(store: Store, event: Event):
    mod = person(Role.PRESENTER)
    ids = []
    for text in ("first", "second", "third"):
        ids.append((await questions.ask(store, event.id, person(), text)).ack.question.id)
    a, b, c = ids
    for qid in (b, a, c):
        out = await questions.push(store, event.id, mod, qid)
        screen = only(out).payloads[Audience.SCREEN]
        assert screen["id"] == qid and screen["question"]["pushed"] is not None
        assert out.notices[0].payload.question.status == "on_screen"
    assert [q.id for q in await question_lists.screen_list(store, event.id)] == [b, a, c]
    # pushing again keeps its place
    assert (await questions.push(store, event.id, mod, b)).changes == []
    out = await questions.answer(store, event.id, mod, a)
    assert only(out).payloads[Audience.SCREEN] == {"id": a, "question": None, "rev": out.changes[0].rev}
    assert out.notices[0].payload.question.status == "answered"
    assert [q.id for q in await question_lists.screen_list(store, event.id)] == [b, c]
    # unanswered: back in its push place; answered again and re-pushed: to the end
    await questions.answer(store, event.id, mod, a, answered=False)
    assert [q.id for q in await question_lists.screen_list(store, event.id)] == [b, a, c]
    await questions.answer(store, event.id, mod, a)
    out = await questions.push(store, event.id, mod, a)
    assert out.ack.question.answered is False
    assert [q.id for q in await question_lists.screen_list(store, event.id)] == [b, c, a]
    out = await questions.push(store, event.id, mod, c, pushed=False)
    assert only(out).payloads[Audience.SCREEN]["question"] is None
    out = await questions.hide(store, event.id, mod, b)
    assert only(out).payloads[Audience.SCREEN]["question"] is None
    assert [q.id for q in await question_lists.screen_list(store, event.id)] == [a]


async def test_changes_that_do_not_touch_the_screen_are_not_sent_to_it(
    store: Store, event: Event
):
    mod = person(Role.PRESENTER)
    qid = (await questions.ask(store, event.id, person(), "quiet")).ack.question.id
    out = await questions.approve(store, event.id, mod, qid)
    assert Audience.SCREEN not in out.changes[0].payloads


async def test_edit_keeps_original_and_updates_screen_in_place(store: Store, event: Event):
    await set_visibility(store, event, "all")
    m1, m2 = person(Role.PRESENTER, "Mia"), person(Role.COLLABORATOR, "Max")
    qid = (await questions.ask(store, event.id, person(), "teh question")).ack.question.id
    await questions.push(store, event.id, m1, qid)
    out = await questions.edit(store, event.id, m1, qid, "The question", version=1)
    change = only(out)
    staff = change.payloads[Audience.STAFF]["question"]
    assert staff["text"] == "The question" and staff["original"] == "teh question"
    assert staff["version"] == 2 and staff["edited_by"] == "Mia"
    assert change.payloads[Audience.SCREEN]["question"]["text"] == "The question"
    assert change.payloads[Audience.AUDIENCE]["question"]["edited"] is True
    # a second edit keeps the very first wording as the original
    await questions.edit(store, event.id, m1, qid, "The question, again", version=2)
    assert (await questions.get(store, event.id, qid)).original == "teh question"
    # Max edits from the version he loaded before Mia's edits: refused
    with pytest.raises(TribuneError) as err:
        await questions.edit(store, event.id, m2, qid, "Max's wording", version=1)
    assert (err.value.code, err.value.field) == (Code.CONFLICT, "version")
    assert (await questions.get(store, event.id, qid)).text == "The question, again"
    [e1, e2] = [e for e in await audit.entries(store, event.id) if e.action == "question.edit"]
    assert e1.before["text"] == "teh question" and e1.after["text"] == "The question"
    assert e2.before["text"] == "The question"


async def test_concurrent_edits_of_one_version_one_wins(store: Store, event: Event):
    qid = (await questions.ask(store, event.id, person(), "base")).ack.question.id
    mods = [person(Role.COLLABORATOR) for _ in range(3)]
    results = await asyncio.gather(
        *(questions.edit(store, event.id, m, qid, f"edit by {m.name}", version=1) for m in mods),
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, BaseException)]
    losses = [r for r in results if isinstance(r, TribuneError)]
    assert len(wins) == 1 and len(losses) == 2
    assert all(e.code is Code.CONFLICT for e in losses)
    q = await questions.get(store, event.id, qid)
    assert q.version == 2 and q.text == wins[0].ack.question.text


async def test_edit_to_empty_is_invalid(store: Store, event: Event):
    qid = (await questions.ask(store, event.id, person(), "x")).ack.question.id
    with pytest.raises(TribuneError) as err:
        await questions.edit(store, event.id, person(Role.PRESENTER), qid, "  ", version=1)
    assert err.value.code is Code.INVALID


async def test_delete_is_permanent_and_audited(store: Store, event: Event):
    await set_visibility(store, event, "all")
    mod, alice = person(Role.ORGANIZER), person()
    qid = (await questions.ask(store, event.id, alice, "Delete me")).ack.question.id
    await questions.push(store, event.id, mod, qid)
    out = await questions.delete(store, event.id, mod, qid)
    change = only(out)
    assert change.payloads[Audience.STAFF]["question"] is None
    assert change.payloads[Audience.AUDIENCE]["question"] is None
    assert change.payloads[Audience.SCREEN]["question"] is None
    assert out.notices[0].payload.question is None
    assert await questions.all_questions(store, event.id) == []
    assert await questions.asked_by(store, event.id, alice.identity) == []
    [entry] = [e for e in await audit.entries(store, event.id) if e.action == "question.delete"]
    assert entry.before["text"] == "Delete me" and entry.after is None
    with pytest.raises(TribuneError) as err:
        await questions.delete(store, event.id, mod, qid)
    assert err.value.code is Code.NOT_FOUND
    for op in (questions.hide, questions.push, questions.answer, questions.approve):
        with pytest.raises(TribuneError) as err:
            await op(store, event.id, mod, qid)
        assert err.value.code is Code.NOT_FOUND


async def test_staff_add_question_and_comment(store: Store, event: Event):
    await set_visibility(store, event, "approved")
    org = person(Role.ORGANIZER, "Olga")
    out = await questions.add(store, event.id, org, "Welcome everyone", QuestionKind.COMMENT)
    change = only(out)
    staff = change.payloads[Audience.STAFF]["question"]
    assert staff["kind"] == "comment" and staff["source"] == "staff" and staff["approved"]
    assert staff["name"] == "Olga"
    assert change.payloads[Audience.AUDIENCE]["question"]["kind"] == "comment"
    assert out.notices == []  # staff follow their own questions on the manager page
    [entry] = await audit.entries(store, event.id)
    assert entry.action == "question.add" and entry.after["text"] == "Welcome everyone"


async def test_configure_visibility(store: Store, event: Event):
    org = person(Role.ORGANIZER)
    out = await question_settings.configure(store, event.id, org, visibility=Visibility.ALL)
    change = only(out, "questions.settings")
    assert change.payloads[Audience.AUDIENCE]["settings"] == {"visibility": "all", "anonymous": True}
    assert (await question_settings.configure(store, event.id, org, visibility=Visibility.ALL)).changes == []
    [entry] = await audit.entries(store, event.id)
    assert (entry.before, entry.after) == ({"visibility": "none"}, {"visibility": "all"})


async def test_unknown_visibility_setting_falls_back_to_none(store: Store, event: Event):
    await set_visibility(store, event, "everyone!")
    out = await questions.ask(store, event.id, person(), "q")
    assert set(out.changes[0].payloads) == {Audience.STAFF}


async def test_participants_stop_when_the_event_ends(store: Store, event: Event):
    from moderation import chat, polls
    from room import live

    await set_visibility(store, event, "all")
    org = person(Role.ORGANIZER)
    qid = (await questions.ask(store, event.id, person(), "before the end")).ack.question.id
    pid = (await polls.create(store, event.id, org, "Q?", ["a", "b"])).ack.poll.id
    await polls.open_poll(store, event.id, org, pid)
    await live.start(store, event.id)
    await live.end(store, event.id)
    late = person()
    for attempt in (
        questions.ask(store, event.id, late, "too late"),
        votes.vote(store, event.id, late, qid),
        chat.send(store, event.id, late, "too late"),
        polls.vote(store, event.id, late, pid, [0]),
    ):
        with pytest.raises(TribuneError) as err:
            await attempt
        assert err.value.code is Code.EVENT_ENDED
    # staff still moderate and read everything afterwards
    await questions.answer(store, event.id, org, qid)
    await chat.send(store, event.id, org, "thanks for coming")


async def test_an_events_questions_are_capped(store: Store, event: Event):
    limits = Limits(questions_per_event=2)
    for i in range(2):
        await questions.ask(store, event.id, person(), f"Question {i}?", limits=limits)
    with pytest.raises(TribuneError) as err:
        await questions.ask(store, event.id, person(), "One more?", limits=limits)
    assert err.value.code is Code.LIMIT_REACHED and "limit of 2 questions" in err.value.message
