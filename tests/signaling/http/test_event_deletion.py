"""Deleting an event deletes everything it owns, on both stores (issue 10, bounded storage)."""

from __future__ import annotations

import asyncio

import aiohttp

from room import keys
from room.store_memory import MemoryStore
from room.store_redis import RedisStore
from tests.helpers import http
from tests.moderation.pdfs import png
from tests.moderation.wire import ok


async def stored_keys(store: object) -> set[str]:
    """Every key in the store: the memory store's state, or SCAN on Redis."""
    if isinstance(store, RedisStore):
        return {k.decode() async for k in store.redis.scan_iter(match="*", count=1000)}
    assert isinstance(store, MemoryStore)
    st = store._s
    spaces = (st.kv, st.hashes, st.zsets, st.lists, st.pools, st.held)
    return {k for space in spaces for k in space} | set(st.deadlines.scores)


async def test_deleting_an_event_leaves_no_key_of_it(server):
    s = await server.setup(attendees=20)
    e = s.event.id
    api = f"{server.url}/api/v1/events/{e}"
    status, _ = await http("PATCH", api, s.api_key, {"settings": {"question_visibility": "all"}})
    assert status == 200
    org = await server.client(s.tokens["organizer"], namespace="/manage", name="Org")
    await org.wait_for("manage.state")
    ann, bob = await s.join("participant", name="Ann"), await s.join("participant", name="Bob")
    asked = ok(await ann.call("question.ask", {"text": "Will it last?", "cid": "q1"}))["question"][
        "id"
    ]
    ok(await bob.call("question.vote", {"id": asked}))
    ok(await bob.call("chat.send", {"text": "hello", "cid": "m1"}))
    poll = ok(await org.call("poll.create", {"question": "Tea?", "options": ["yes", "no"]}))
    poll_id = poll["poll"]["id"]
    ok(await org.call("poll.open", {"id": poll_id}))
    ok(await ann.call("poll.vote", {"id": poll_id, "choices": [0]}))
    form = aiohttp.FormData()
    form.add_field("file", png(), filename="s.png", content_type="image/png")
    async with (
        aiohttp.ClientSession() as web,
        web.post(f"{api}/slides", data=form, headers={"Authorization": f"Bearer {s.api_key}"}) as r,
    ):
        assert r.status == 201, await r.text()
    status, _ = await http("PATCH", api, s.api_key, {"access_mode": "registration"})
    assert status == 200
    status, body = await http(
        "POST",
        f"{server.url}/api/v1/public/events/{e}/registrations",
        None,
        {"email": "cy@example.org", "name": "Cy", "cid": "r1"},
    )
    assert status == 201, body
    store = server.tribune.store
    assert len({k for k in await stored_keys(store) if e in k}) > 20
    mail_keys = set(await store.hgetall(keys.MAIL_KEYS))
    assert any(e in f for f in mail_keys), mail_keys  # Cy's registration mail

    status, body = await http("DELETE", api, s.api_key)
    assert status == 200, body
    for c in (org, ann, bob):
        await c.wait_for("revoked")
        await asyncio.wait_for(c.sio.wait(), 10)  # until the server closed it
    assert {k for k in await stored_keys(store) if e in k} == set()
    assert not [f for f in await store.hgetall(keys.MAIL_KEYS) if e in f]  # its mails' keys
    status, _ = await http("GET", api, s.api_key)
    assert status == 404
