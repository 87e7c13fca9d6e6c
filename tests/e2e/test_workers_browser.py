"""Real Chromium pages with the media on two worker processes (`--media-workers 2`): a
presenter publishes, two attendees decode (their subscriptions on both workers), and when
a worker is killed -9 the pages publish and subscribe again by themselves."""

from __future__ import annotations

import asyncio
import os
import signal

from playwright.async_api import Browser, Page, expect

from signaling.socket.media_pooled import PooledSfu
from tests.e2e.rooms import enter_shared
from tests.e2e.test_stage_browser import received
from tests.helpers import Server


async def decoding(pages: list[Page], frames: int = 30) -> None:
    start = await asyncio.gather(*(received(p) for p in pages))
    for _ in range(150):
        now = await asyncio.gather(*(received(p) for p in pages))
        if all(n["frames"] - b["frames"] >= frames for n, b in zip(now, start, strict=True)):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"pages not decoding: {start} -> {now}")


async def test_pages_decode_through_two_workers_and_recover_from_a_killed_one(
    make_server, browser: Browser
) -> None:
    server: Server = await make_server(media_workers=2)
    s = await server.setup()
    base = f"{server.url}/room/{s.event.id}#t="
    pages = []
    for role in ("presenter", "participant", "participant"):
        page = await (await browser.new_context()).new_page()
        if role == "participant":
            await enter_shared(page, base + s.tokens[role])
        else:
            await page.goto(base + s.tokens[role])
        await expect(page.get_by_test_id("my-role")).to_have_text(role)
        pages.append(page)
    presenter, *attendees = pages
    try:
        await presenter.get_by_test_id("camera-toggle").click()
        pid = await presenter.evaluate("window.tribune.state.me.person")
        for page in attendees:
            video = page.locator(f'[data-testid="stage-video"][data-identity="{pid}"]')
            await expect(video).to_be_visible(timeout=10000)
        await decoding(attendees)
        sfu = server.tribune.media.sfus[s.event.id]
        assert isinstance(sfu, PooledSfu) and sfu.home is not None
        assert {w.index for w in sfu.where.values()} == {0, 1}  # both workers serve pages
        pool = server.tribune.media.local.pool
        assert pool is not None
        victim = pool.workers[1 - sfu.home.index]
        old = victim.pid
        assert old is not None
        os.kill(old, signal.SIGKILL)
        for _ in range(200):  # restarted, and the pages back on the new media
            again = server.tribune.media.sfus.get(s.event.id)
            if victim.pid != old and isinstance(again, PooledSfu) and len(again.where) == 3:
                break
            await asyncio.sleep(0.1)
        assert victim.pid != old and pool.restarts == 1
        for page in attendees:
            video = page.locator(f'[data-testid="stage-video"][data-identity="{pid}"]')
            await expect(video).to_be_visible(timeout=15000)
        await decoding(attendees)
    finally:
        for page in pages:
            await page.context.close()
