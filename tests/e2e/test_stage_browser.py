"""The stage in real Chromium: a presenter publishes camera and mic, two attendees watch."""

from __future__ import annotations

import asyncio

from playwright.async_api import Browser, ConsoleMessage, Page, expect

from room import stage
from tests.e2e.rooms import enter_shared

STATS = """async () => {
  const pc = window.tribune && window.tribune.subscriber;
  if (!pc) return {frames: 0, samples: 0};
  let frames = 0, samples = 0;
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video") frames += r.framesDecoded || 0;
    if (r.type === "inbound-rtp" && r.kind === "audio") samples += r.totalSamplesReceived || 0;
  });
  return {frames, samples};
}"""


async def received(page: Page) -> dict[str, int]:
    return await page.evaluate(STATS)


async def test_presenter_publishes_and_two_attendees_decode(mem_server, browser: Browser) -> None:
    s = await mem_server.setup()
    base = f"{mem_server.url}/room/{s.event.id}#t="
    pages = []
    for role in ("presenter", "participant", "participant"):
        ctx = await browser.new_context()
        page = await ctx.new_page()
        if role == "participant":
            await enter_shared(page, base + s.tokens[role])
        else:
            await page.goto(base + s.tokens[role])
        await expect(page.get_by_test_id("my-role")).to_have_text(role)
        pages.append(page)
    presenter, *attendees = pages
    await expect(attendees[0].get_by_test_id("camera-toggle")).to_be_hidden()
    await presenter.get_by_test_id("camera-toggle").click()
    await presenter.get_by_test_id("mic-toggle").click()
    pid = (await presenter.evaluate("window.tribune.state.me.person"))
    for page in attendees:
        video = page.locator(f'[data-testid="stage-video"][data-identity="{pid}"]')
        await expect(video).to_be_visible(timeout=10000)
    start = await asyncio.gather(*(received(p) for p in attendees))
    await asyncio.sleep(0)
    for _ in range(100):
        now = await asyncio.gather(*(received(p) for p in attendees))
        if all(n["frames"] - b["frames"] >= 60 and n["samples"] > 0 for n, b in zip(now, start, strict=True)):
            break
        await asyncio.sleep(0.1)
    now = await asyncio.gather(*(received(p) for p in attendees))
    for n, b in zip(now, start, strict=True):
        assert n["frames"] - b["frames"] >= 60, (start, now)
        assert n["samples"] > 0, now
    # stopping the camera takes the tile away on every page
    await presenter.get_by_test_id("camera-toggle").click()
    for page in attendees:
        await expect(page.locator(f'[data-testid="stage-video"][data-identity="{pid}"]')).to_have_count(0)
    for page in pages:
        await page.context.close()


async def test_fast_clicks_on_camera_mic_and_screen_break_nothing(mem_server, browser: Browser) -> None:
    """Each toggle renegotiates the one publishing connection: clicked faster than an offer
    and its answer travel, the exchanges must queue (one at a time), not overlap."""
    s = await mem_server.setup()
    store = mem_server.tribune.store
    ctx = await browser.new_context()
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))

    def console(m: ConsoleMessage) -> None:
        # the browser's own favicon request is no error of the page
        if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"console: {m.text} at {m.location.get('url')}")

    page.on("console", console)
    await page.goto(f"{mem_server.url}/room/{s.event.id}#t={s.tokens['presenter']}")
    await expect(page.get_by_test_id("my-role")).to_have_text("presenter")
    pid = await page.evaluate("window.tribune.state.me.person")
    # interleaved, without waiting: camera and mic 5 times each (end on), screen twice (off)
    clicks = ["camera", "mic", "screen", "camera", "mic", "screen"] + ["camera", "mic"] * 3
    for source in clicks:
        await page.get_by_test_id(f"{source}-toggle").click()
    for source, on in (("camera", "true"), ("mic", "true"), ("screen", "false")):
        await expect(page.get_by_test_id(f"{source}-toggle")).to_have_attribute("aria-pressed", on)
    expected = {"camera": [pid], "mic": [pid], "screen": []}
    for _ in range(200):
        settled = await page.evaluate("window.tribune.publisher.signalingState") == "stable"
        if settled and await stage.on_stage(store, s.event.id) == expected:
            break
        await asyncio.sleep(0.05)
    assert await stage.on_stage(store, s.event.id) == expected
    assert await page.evaluate("window.tribune.publisher.signalingState") == "stable"
    assert errors == [], errors
    await ctx.close()
