"""The room page in real Chromium when the node closes its connection as a slow consumer
(signaling/socket/sendqueue.py): the page shows the reason, reconnects by itself and
catches up (`sync {rev}`) with a change made meanwhile."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from signaling.socket import sendqueue
from tests.helpers import Server

WATCH = """() => {
  window.__codes = [];
  window.__connects = 0;
  const box = document.querySelector('[data-testid="error"]');
  new MutationObserver(() => { if (box.dataset.code) window.__codes.push(box.dataset.code); })
    .observe(box, { attributes: true, childList: true, characterData: true, subtree: true });
  window.tribune.socket.on("connect", () => {
    window.__connects += 1;
    document.body.dataset.connects = String(window.__connects);
  });
}"""


async def test_the_page_reports_a_slow_consumer_close_reconnects_and_catches_up(
    mem_server: Server, browser: Browser
) -> None:
    s = await mem_server.setup()
    page = await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"{mem_server.url}/room/{s.event.id}#t={s.tokens['organizer']}")
    await expect(page.get_by_test_id("event-state")).to_have_text("scheduled")
    await page.evaluate(WATCH)

    hub = mem_server.tribune.hub
    assert hub is not None
    (sid,) = [sid for sid, x in hub.sessions.items() if x.namespace == "/room"]
    eio_sid = hub.sio.manager.eio_sid_from_sid(sid, "/room")
    sendqueue.overflow(hub.sio.eio.sockets[eio_sid])  # what a full send queue does
    presenter = await s.join("presenter")
    assert (await presenter.call("event.start"))["ok"]

    await expect(page.locator("body")).to_have_attribute("data-connects", "1")
    await expect(page.get_by_test_id("event-state")).to_have_text("live")
    assert "slow_consumer" in await page.evaluate("window.__codes")
    assert errors == []
    await page.close()
