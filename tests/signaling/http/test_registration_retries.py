"""The public registration route with a client id: a retry answers 201 with the first
registration instead of `conflict`."""

from __future__ import annotations

import asyncio

from room.audience import registration
from tests.room.audience.helpers import Web, organizer


async def test_a_retried_registration_answers_the_first(server):
    account, _, _ = await organizer(server)
    event = await server.event(account, title="Launch", access_mode="registration")
    anon = Web(server.url)
    url = f"/api/v1/public/events/{event.id}/registrations"
    form = {"email": "ann@example.org", "name": "Ann", "cid": "form-7f3a"}
    try:
        first = await anon.call("POST", url, form)
        assert first[0] == 201, first
        tries = await asyncio.gather(*(anon.call("POST", url, form) for _ in range(30)))
        assert {status for status, _ in tries} == {201}
        assert all(b["registration"] == first[1]["registration"] for _, b in tries)
        assert all(b["link"].split("#t=")[0] == first[1]["link"].split("#t=")[0] for _, b in tries)
        status, body = await anon.call("POST", url, {**form, "cid": None})
        assert status == 409 and body["error"]["code"] == "conflict"
        for bad in ("", "x" * 65, "no spaces"):
            status, body = await anon.call("POST", url, {**form, "cid": bad})
            assert status == 400 and body["error"]["field"] == "cid", body
    finally:
        await anon.close()
    store = server.tribune.store
    assert await registration.count(store, event.id) == 1
