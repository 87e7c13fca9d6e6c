"""Moderation events over the wire: bad input, floods, permissions, chat, polls, screen resync."""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image

from room import events as ev
from signaling.demo import ensure_demo
from tests.helpers import Refused
from tests.moderation.wire import error, ok, on_screen, wait_until


async def test_bad_questions_are_refused_with_the_field(server):
    s = await server.setup()
    p = await s.join("participant")
    org = await server.client(s.tokens["organizer"], namespace="/manage")
    try:
        cases = [
            ({"text": "x" * 5000}, "text"),  # over the wire cap
            ({"text": "x" * 501}, "text"),  # over the question limit
            ({"text": ""}, "text"),
            ({"text": " \n\t "}, "text"),
            ({"text": 42}, "text"),
            ({"text": "ok", "extra": 1}, "extra"),
            ({}, "text"),
            ({"text": "ok", "anonymous": "yes"}, "anonymous"),
        ]
        for payload, field in cases:
            assert error(await p.call("question.ask", payload)) == ("invalid", field), payload
        for payload, field in [({"text": "y" * 1001}, "text"), ({"text": "   "}, "text")]:
            assert error(await p.call("chat.send", payload)) == ("invalid", field)
        # markup is just text: stored and delivered as typed
        evil = '<img src=x onerror="window.__xss=1"><script>alert(1)</script>'
        ack = ok(await p.call("question.ask", {"text": evil}))
        assert ack["question"]["text"] == evil
        got = await org.wait_for("question.changed", lambda d: d["question"]["text"] == evil)
        assert got["question"]["text"] == evil
        ok(await p.call("chat.send", {"text": evil}))
        msg = await org.wait_for("chat.message")
        assert msg["message"]["text"] == evil
        # nothing invalid reached the manager page
        assert len(org.received["question.changed"]) == 1
    finally:
        await p.close()
        await org.close()


async def test_floods_are_rate_limited(server):
    s = await server.setup()
    flooder, other = await s.join("participant"), await s.join("participant")
    try:
        acks = [await flooder.call("question.ask", {"text": f"q{i}"}) for i in range(8)]
        codes = [None if a["ok"] else a["error"]["code"] for a in acks]
        assert codes[:5] == [None] * 5 and set(codes[5:]) == {"rate_limited"}
        ok(await other.call("question.ask", {"text": "I can still ask"}))
        acks = [await flooder.call("chat.send", {"text": f"m{i}"}) for i in range(8)]
        codes = [None if a["ok"] else a["error"]["code"] for a in acks]
        assert "rate_limited" in codes and codes[0] is None
    finally:
        await flooder.close()
        await other.close()


async def test_a_second_node_shares_the_rate_limit(make_server, redis_url):
    a = await make_server(redis_url=redis_url)
    b = await make_server(redis_url=redis_url)
    s = await a.setup()
    p1 = await a.client(s.tokens["participant"], device="device-one-1234")
    try:
        for i in range(5):
            ok(await p1.call("question.ask", {"text": f"q{i}"}))
        await p1.close()
        p2 = await b.client(s.tokens["participant"], identity=await p1.identity())
        assert error(await p2.call("question.ask", {"text": "from node b"}))[0] == "rate_limited"
        await p2.close()
    finally:
        await p1.close()


async def test_participants_cannot_use_staff_events(server):
    s = await server.setup()
    with pytest.raises(Refused) as err:
        await server.client(s.tokens["participant"], namespace="/manage")
    assert err.value.code == "forbidden"
    p = await s.join("participant")
    org = await server.client(s.tokens["organizer"], namespace="/manage")
    try:
        mid = ok(await org.call("chat.send", {"text": "hello"}))["message"]["id"]
        assert error(await p.call("chat.delete", {"id": mid}))[0] == "forbidden"
        assert error(await p.call("slides.goto", {"index": 0}))[0] == "forbidden"
        # staff events do not exist on the participants' namespace at all
        assert error(await p.call("question.push", {"id": "q_x"})) == ("invalid", "event")
        scr = await server.client(s.tokens["screen"], namespace="/screen")
        assert error(await scr.call("question.ask", {"text": "hi"})) == ("invalid", "event")
        await scr.close()
        # collaborators moderate but do not remove people (the permission table says so)
        collab = await server.client(s.tokens["collaborator"], namespace="/manage")
        assert error(await collab.call("person.remove", {"person": "x"}))[0] == "forbidden"
        await collab.close()
    finally:
        await p.close()
        await org.close()


async def test_visibility_all_votes_and_author_status(server):
    s = await server.setup()
    org = await server.client(s.tokens["organizer"], namespace="/manage")
    alice, bob = await s.join("participant", name="Alice"), await s.join("participant", name="Bob")
    try:
        ok(await org.call("question.settings", {"visibility": "all"}))
        await alice.wait_for("questions.settings", lambda d: d["settings"]["visibility"] == "all")
        qid = ok(await alice.call("question.ask", {"text": "Can you hear me?"}))["question"]["id"]
        seen = await bob.wait_for("question.changed", lambda d: d["id"] == qid)
        assert seen["question"]["name"] == "Alice" and "author" not in seen["question"]
        assert ok(await bob.call("question.vote", {"id": qid})) == {"ok": True, "votes": 1, "voted": True}
        assert ok(await bob.call("question.vote", {"id": qid}))["votes"] == 1
        await alice.wait_for("question.mine", lambda d: d["question"]["votes"] == 1)
        assert error(await alice.call("question.vote", {"id": qid}))[0] == "forbidden"
        state = ok(await bob.call("moderation.get"))
        assert state["votes"] == [qid] and [q["id"] for q in state["questions"]] == [qid]
        ok(await org.call("question.hide", {"id": qid}))
        await bob.wait_for("question.changed", lambda d: d["id"] == qid and d["question"] is None)
        await alice.wait_for("question.mine", lambda d: d["question"]["status"] == "hidden")
    finally:
        for c in (org, alice, bob):
            await c.close()


async def test_chat_delete_mute_and_ban(server):
    s = await server.setup()
    org = await server.client(s.tokens["organizer"], namespace="/manage")
    troll = await s.join("participant", name="Troll")
    fan = await s.join("participant", name="Fan")
    try:
        state = await troll.wait_for("moderation.state")
        assert state["muted"] is False and state["chat"] == []
        mid = ok(await troll.call("chat.send", {"text": "first!"}))["message"]["id"]
        got = await fan.wait_for("chat.message")
        assert got["message"]["text"] == "first!" and "author" not in got["message"]
        staff = await org.wait_for("chat.message")
        author = staff["message"]["author"]
        ok(await org.call("chat.delete", {"id": mid}))
        await fan.wait_for("chat.deleted", lambda d: d["id"] == mid)
        ok(await org.call("chat.mute", {"person": author}))
        await troll.wait_for("chat.muted", lambda d: d["muted"] is True)
        assert error(await troll.call("chat.send", {"text": "let me talk"}))[0] == "forbidden"
        q = ok(await org.call("chat.send", {"text": "Please stay on topic"}))
        assert q["message"]["staff"] is True
        ok(await org.call("person.remove", {"person": author, "ban": True}))
        removed = await troll.wait_for("removed")
        assert removed["code"] == "banned"
        with pytest.raises(Refused) as err:
            await s.join("participant", identity=await troll.identity())
        assert err.value.code == "banned"
        entries = ok(await org.call("audit.list"))["entries"]
        assert [e["action"] for e in entries] == ["chat.delete", "chat.mute"]
    finally:
        for c in (org, troll, fan):
            await c.close()


async def test_chat_to_question_in_one_action(server):
    s = await server.setup()
    org = await server.client(s.tokens["organizer"], namespace="/manage")
    p = await s.join("participant", name="Curious")
    try:
        mid = ok(await p.call("chat.send", {"text": "What about pricing?"}))["message"]["id"]
        q = ok(await org.call("chat.to_question", {"id": mid}))["question"]
        assert (q["text"], q["source"], q["name"]) == ("What about pricing?", "chat", "Curious")
        mine = await p.wait_for("question.mine")
        assert mine["question"]["text"] == "What about pricing?"
        assert error(await org.call("chat.to_question", {"id": mid}))[0] == "conflict"
    finally:
        await org.close()
        await p.close()


async def test_polls_live_results(server):
    s = await server.setup()
    org = await server.client(s.tokens["organizer"], namespace="/manage")
    voters = [await s.join("participant") for _ in range(5)]
    try:
        poll = ok(await org.call("poll.create", {
            "question": "Useful?", "options": ["Yes", "No"], "show_results": True,
        }))["poll"]
        assert poll["state"] == "draft"
        ok(await org.call("poll.open", {"id": poll["id"]}))
        got = await voters[0].wait_for("poll.changed", lambda d: d["poll"]["state"] == "open")
        assert got["poll"]["options"] == ["Yes", "No"]
        for i, v in enumerate(voters):
            ok(await v.call("poll.vote", {"id": poll["id"], "choices": [0 if i < 3 else 1]}))
        ok(await voters[4].call("poll.vote", {"id": poll["id"], "choices": [0]}))  # changes his mind
        await org.wait_for("poll.results", lambda d: d["counts"] == [4, 1] and d["voters"] == 5)
        await voters[1].wait_for("poll.results", lambda d: d["counts"] == [4, 1])
        assert error(await voters[0].call("poll.vote", {"id": poll["id"], "choices": [0, 1]})) == (
            "invalid", "choices")
        late = await s.join("participant")
        state = await late.wait_for("moderation.state")
        assert state["poll"]["id"] == poll["id"] and state["poll"]["ballot"] is None
        ok(await org.call("poll.close", {"id": poll["id"]}))
        closed = await voters[2].wait_for("poll.changed", lambda d: d["poll"]["state"] == "closed")
        assert closed["poll"]["results"] == {"counts": [4, 1], "voters": 5}
        assert error(await late.call("poll.vote", {"id": poll["id"], "choices": [0]}))[0] == "conflict"
        await late.close()
    finally:
        await org.close()
        for v in voters:
            await v.close()


async def test_screen_resyncs_after_a_disconnect(server):
    s = await server.setup()
    org = await server.client(s.tokens["organizer"], namespace="/manage")
    p = await s.join("participant")
    screen = await server.client(s.tokens["screen"], namespace="/screen", device="tv-in-room-1")
    try:
        ids = [ok(await p.call("question.ask", {"text": f"q{i}"}))["question"]["id"] for i in range(3)]
        ok(await org.call("question.push", {"id": ids[0]}))
        await wait_until(screen, lambda: [q["id"] for q in on_screen(screen)] == [ids[0]])
        rev = max(d["rev"] for d in screen.received["question.changed"])
        await screen.close()
        # while the screen is away: one answered, two pushed, one edited
        ok(await org.call("question.answered", {"id": ids[0]}))
        ok(await org.call("question.push", {"id": ids[2]}))
        ok(await org.call("question.push", {"id": ids[1]}))
        ok(await org.call("question.edit", {"id": ids[2], "text": "q2, edited", "version": 1}))
        back = await server.client(s.tokens["screen"], namespace="/screen", device="tv-in-room-1")
        snap = await back.wait_for("screen.state")
        assert [q["id"] for q in snap["questions"]] == [ids[2], ids[1]]
        assert snap["questions"][0]["text"] == "q2, edited"
        # `sync` from the last revision seen replays exactly what the screen missed
        missed = ok(await back.call("sync", {"rev": rev}))["changes"]
        names = [c["event"] for c in missed]
        assert set(names) <= {"question.changed", "event.status"}
        replay = [c["data"] for c in missed if c["event"] == "question.changed"]
        assert [(d["id"], d["question"] is None) for d in replay] == [
            (ids[0], True), (ids[2], False), (ids[1], False), (ids[2], False)
        ]
        await back.close()
    finally:
        await org.close()
        await p.close()


async def test_manage_sync_and_screen_link(server):
    s = await server.setup()
    org = await server.client(s.tokens["organizer"], namespace="/manage")
    try:
        state = await org.wait_for("manage.state")
        assert state["settings"] == {"visibility": "none", "anonymous": True}
        assert "moderate_questions" in state["you"]["can"]
        link = ok(await org.call("screen.link"))
        assert link["path"].startswith(f"/screen/{s.event.id}#t=")
        ok(await org.call("screen.link"))  # asked again: the same invitation, not a new one
        invs = await ev.list_invitations(server.tribune.store, s.event.id)
        assert sum(i.role.value == "screen" for i in invs) == 2  # setup's own + the screen link
        scr = await server.client(link["token"], namespace="/screen")
        await scr.wait_for("screen.state")
        with pytest.raises(Refused):  # a screen link does not open the manager page
            await server.client(link["token"], namespace="/manage")
        await scr.close()
        ok(await org.call("question.add", {"text": "From the desk", "kind": "comment"}))
        out = ok(await org.call("sync", {"rev": state["rev"]}))
        assert [c["event"] for c in out["changes"]] == ["question.changed"]
        full = ok(await org.call("sync", {"rev": 0, "full": True}))
        assert [q["text"] for q in full["snapshot"]["questions"]] == ["From the desk"]
    finally:
        await org.close()


async def test_demo_has_a_manage_link(mem_server):
    info = await ensure_demo(mem_server.tribune)
    manage = info.links["manage"]
    assert f"/manage/{info.event_id}#t=" in manage
    assert manage.split("#t=")[1] == info.links["organizer"].split("#t=")[1]


async def test_the_manager_page_is_served(mem_server):
    import aiohttp

    s = await mem_server.setup()
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{mem_server.url}/manage/{s.event.id}") as r:
            assert r.status == 200 and 'data-testid="question-list"' in await r.text()


async def test_concurrent_pushes_from_two_nodes_keep_one_order(make_server, redis_url):
    a = await make_server(redis_url=redis_url)
    b = await make_server(redis_url=redis_url)
    s = await a.setup()
    p = await a.client(s.tokens["participant"])
    m1 = await a.client(s.tokens["organizer"], namespace="/manage")
    m2 = await b.client(s.tokens["presenter"], namespace="/manage")
    screen = await b.client(s.tokens["screen"], namespace="/screen")
    try:
        ids = await asyncio.gather(*(
            p.call("question.ask", {"text": f"n{i}"}) for i in range(4)
        ))
        ids = [ok(x)["question"]["id"] for x in ids]
        await asyncio.gather(
            m1.call("question.push", {"id": ids[0]}), m2.call("question.push", {"id": ids[1]}),
            m1.call("question.push", {"id": ids[2]}), m2.call("question.push", {"id": ids[3]}),
        )
        shown = await wait_until(screen, lambda: len(on_screen(screen)) == 4 and on_screen(screen))
        snap = ok(await screen.call("screen.get"))
        assert [q["id"] for q in shown] == [q["id"] for q in snap["questions"]]
        assert len({q["pushed"] for q in shown}) == 4
    finally:
        for c in (p, m1, m2, screen):
            await c.close()


async def _upload(url: str, token: str | None, files: list[tuple[str, bytes, str]]):
    import aiohttp

    form = aiohttp.FormData()
    for name, data, ctype in files:
        form.add_field("file", data, filename=name, content_type=ctype)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as session, session.post(url, data=form, headers=headers) as r:
        return r.status, await r.json()


async def test_slides_upload_drive_and_late_joiner(server):
    import aiohttp

    from tests.moderation.pdfs import pdf, png

    s = await server.setup()
    url = f"{server.url}/api/v1/events/{s.event.id}/slides"
    watcher = await s.join("participant")
    collab = await server.client(s.tokens["collaborator"], namespace="/manage")
    try:
        deck = [("talk.pdf", pdf(2), "application/pdf"), ("extra.png", png(), "image/png")]
        assert (await _upload(url, None, deck))[0] == 401
        status, body = await _upload(url, s.tokens["participant"], deck)
        assert (status, body["error"]["code"]) == (403, "forbidden")
        status, body = await _upload(url, s.tokens["collaborator"], [("x.txt", b"hello", "text/plain")])
        assert (status, body["error"]["code"], body["error"]["field"]) == (400, "invalid", "file")
        gif = io.BytesIO()
        Image.new("RGB", (32, 32), "red").save(gif, "GIF")
        status, body = await _upload(url, s.tokens["collaborator"], [("x.png", gif.getvalue(), "image/png")])
        assert (status, body["error"]["code"], body["error"]["field"]) == (400, "invalid", "file")
        assert "only PDF, PNG and JPEG" in body["error"]["message"]
        status, body = await _upload(url, s.tokens["presenter"], deck)
        assert status == 201 and body["slides"]["count"] == 3 and body["slides"]["index"] == 0
        got = await watcher.wait_for("slides.changed", lambda d: d["slides"] and d["slides"]["count"] == 3)
        assert got["slides"]["url"] == body["slides"]["url"]
        ok(await collab.call("slides.goto", {"index": 2}))
        await watcher.wait_for("slides.changed", lambda d: d["slides"]["index"] == 2)
        assert error(await collab.call("slides.goto", {"index": 3})) == ("invalid", "index")
        late = await s.join("participant")
        state = await late.wait_for("moderation.state")
        assert state["slides"]["index"] == 2 and state["slides"]["deck"] == body["slides"]["deck"]
        async with aiohttp.ClientSession() as session:
            async with session.get(server.url + state["slides"]["url"]) as r:
                assert r.status == 200 and r.content_type == "image/jpeg"
                assert (await r.read())[:2] == b"\xff\xd8"
            staff = {"Authorization": f"Bearer {s.tokens['collaborator']}"}
            async with session.get(f"{server.url}/slides/{s.event.id}/deck_nope/0", headers=staff) as r:
                assert r.status == 404
        # the account's API key may upload too; the new deck replaces the old one
        status, body2 = await _upload(url, s.api_key, [("one.png", png("orange"), "image/png")])
        assert status == 201 and body2["slides"]["count"] == 1
        async with aiohttp.ClientSession() as session:
            async with session.get(server.url + state["slides"]["url"]) as r:
                assert r.status == 404
        await late.close()
    finally:
        await watcher.close()
        await collab.close()
