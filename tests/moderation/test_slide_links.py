"""Slide images over HTTP need a link of the event (issue 9, item 7): the signed link handed
with the slide position, or a Bearer API key or link token. Attendees read only slides
already shown; staff read every slide; nothing is cached publicly."""

from __future__ import annotations

import aiohttp

from tests.moderation.pdfs import pdf
from tests.moderation.wire import ok


async def _upload(url: str, token: str) -> dict:
    form = aiohttp.FormData()
    form.add_field("file", pdf(4), filename="talk.pdf", content_type="application/pdf")
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session, session.post(url, data=form, headers=headers) as r:
        assert r.status == 201
        return await r.json()


def at(url: str, index: int) -> str:
    """The same link for another slide of the deck."""
    path, _, query = url.partition("?")
    return f"{path.rsplit('/', 1)[0]}/{index}" + (f"?{query}" if query else "")


async def test_slide_images_need_a_link_and_attendees_see_only_shown_slides(server):
    s = await server.setup()
    other = await server.setup()  # another account, its event and links
    watcher = await s.join("participant")
    collab = await server.client(s.tokens["collaborator"], namespace="/manage")
    http = aiohttp.ClientSession()

    async def get(url: str, token: str | None = None) -> tuple[int, str]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with http.get(server.url + url, headers=headers) as r:
            await r.read()
            return r.status, r.headers.get("Cache-Control", "")

    try:
        body = await _upload(f"{server.url}/api/v1/events/{s.event.id}/slides", s.tokens["presenter"])
        got = await watcher.wait_for("slides.changed", lambda d: d["slides"] and d["slides"]["count"] == 4)
        url = got["slides"]["url"]
        assert url == body["slides"]["url"] and "?sig=" in url
        bare = url.partition("?")[0]

        # what the room handed out works, privately cached; no credential, nothing
        status, cache = await get(url)
        assert status == 200 and "private" in cache and "public" not in cache
        assert (await get(bare))[0] == 401
        assert (await get(bare + "?sig=forged"))[0] == 401
        # an attendee cannot read ahead, with the signed link or his own link token
        assert (await get(at(url, 1)))[0] == 403
        assert (await get(at(bare, 1), s.tokens["participant"]))[0] == 403
        assert (await get(bare, s.tokens["participant"]))[0] == 200
        # staff read every slide: a staff link token or the account's API key
        assert (await get(at(bare, 3), s.tokens["collaborator"]))[0] == 200
        assert (await get(at(bare, 3), s.api_key))[0] == 200
        huge = bare.rsplit("/", 1)[0] + "/" + "9" * 5000
        assert (await get(huge, s.api_key))[0] == 404  # not a 500 from int()
        # credentials of another account or event get nothing
        assert (await get(at(bare, 0), other.api_key))[0] == 404
        assert (await get(at(bare, 0), other.tokens["collaborator"]))[0] == 403

        ok(await collab.call("slides.goto", {"index": 2}))
        moved = await watcher.wait_for("slides.changed", lambda d: d["slides"]["index"] == 2)
        assert moved["slides"]["url"] == at(url, 2)
        ok(await collab.call("slides.goto", {"index": 0}))
        await watcher.wait_for("slides.changed", lambda d: d["slides"]["index"] == 0)
        for shown in (0, 1, 2):  # every slide up to the furthest shown so far
            assert (await get(at(url, shown)))[0] == 200
        assert (await get(at(url, 3)))[0] == 403

        # a deck's signature reads no other deck; a replaced deck is gone
        body2 = await _upload(f"{server.url}/api/v1/events/{s.event.id}/slides", s.api_key)
        new_bare = body2["slides"]["url"].partition("?")[0]
        assert (await get(new_bare + "?" + url.partition("?")[2]))[0] == 403
        assert (await get(url))[0] == 404
        assert (await get(body2["slides"]["url"]))[0] == 200
    finally:
        await http.close()
        await watcher.close()
        await collab.close()
