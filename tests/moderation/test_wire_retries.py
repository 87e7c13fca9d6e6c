"""Client ids and caps over the wire: a retried `question.ask` / `chat.send` answers the
first try's record, and the server's caps (`--max-questions-per-event`,
`--max-chat-per-event`) refuse with `limit_reached`."""

from __future__ import annotations

import asyncio

import pytest

from moderation import keys, questions
from tests.moderation.wire import error, ok


@pytest.fixture
async def node(make_server, backend, request):
    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    # a roomy per-connection bucket: 200 retries at once from one page
    return await make_server(
        redis_url=url,
        rate_burst=1000.0,
        rate_per_second=1000.0,
        max_questions_per_event=3,
        max_chat_per_event=2,
    )


async def test_a_retried_ask_answers_the_first_question(node):
    s = await node.setup()
    p = await s.join("participant")
    org = await node.client(s.tokens["organizer"], namespace="/manage")
    store = node.tribune.store
    try:
        first = ok(await p.call("question.ask", {"text": "Slides?", "cid": "a-1"}))
        again = ok(await p.call("question.ask", {"text": "Slides?", "cid": "a-1"}))
        assert again == first
        acks = await asyncio.gather(
            *(p.call("question.ask", {"text": "Once?", "cid": "b_2"}) for _ in range(200))
        )
        assert all(a == acks[0] for a in acks) and acks[0]["ok"], acks[0]
        assert len(await questions.all_questions(store, s.event.id)) == 2
        await org.wait_for("question.changed", lambda d: d["id"] == acks[0]["question"]["id"])
        ok(await org.call("sync", {"rev": 0, "full": True}))
        assert len(org.received["question.changed"]) == 2  # staff heard of each once
    finally:
        await p.close()
        await org.close()


async def test_a_retried_send_answers_the_first_message(node):
    s = await node.setup()
    p = await s.join("participant")
    try:
        acks = await asyncio.gather(
            *(p.call("chat.send", {"text": "hello", "cid": "m1"}) for _ in range(50))
        )
        assert all(a == acks[0] for a in acks) and acks[0]["ok"], acks[0]
        assert await node.tribune.store.hlen(keys.chat(s.event.id)) == 1
    finally:
        await p.close()


async def test_a_client_id_is_checked(node):
    s = await node.setup()
    p = await s.join("participant")
    try:
        for cid in ("", "x" * 65, "has space", "semi:colon", 7):
            for name in ("question.ask", "chat.send"):
                assert error(await p.call(name, {"text": "t", "cid": cid})) == ("invalid", "cid")
        ok(await p.call("question.ask", {"text": "t", "cid": "x" * 64}))
        ok(await p.call("question.ask", {"text": "u", "cid": None}))
    finally:
        await p.close()


async def test_the_caps_set_by_flags_refuse_with_limit_reached(node):
    s = await node.setup()
    people = [await s.join("participant") for _ in range(2)]
    org = await node.client(s.tokens["organizer"], namespace="/manage")
    try:
        first = ok(await people[0].call("question.ask", {"text": "Q0?", "cid": "q0"}))
        for i in (1, 2):
            ok(await people[i % 2].call("question.ask", {"text": f"Q{i}?"}))
        refused = await people[0].call("question.ask", {"text": "One more?"})
        assert error(refused) == ("limit_reached", None)
        assert "limit of 3 questions" in refused["error"]["message"]
        assert error(await org.call("question.add", {"text": "Ours"}))[0] == "limit_reached"
        # a retry of a question made before the cap still answers it
        assert ok(await people[0].call("question.ask", {"text": "Q0?", "cid": "q0"})) == first
        ok(await people[0].call("chat.send", {"text": "a"}))
        ok(await org.call("chat.send", {"text": "b"}))
        assert error(await people[1].call("chat.send", {"text": "c"})) == ("limit_reached", None)
    finally:
        for c in (*people, org):
            await c.close()
