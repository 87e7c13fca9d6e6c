"""The replay in real Chromium: a presenter's camera is recorded from a real browser while a
slide is shown and a question is pushed to the second screen; the event ends and is on
demand; a participant's link opens /replay, plays it on one clock, and sees the slide and
the question appear when they were shown live. The page counts as a replay session."""

from __future__ import annotations

import asyncio
import io

from PIL import Image
from playwright.async_api import Browser, Page, expect

from room.audience import sessions
from tests.helpers import http

PLAYING = """() => {
  const v = document.querySelector('[data-testid="replay-video"]');
  return v !== null && v.currentTime > 0.5;
}"""


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 180), "teal").save(buf, format="PNG")
    return buf.getvalue()


async def _replay_visitors(url: str, key: str) -> int:
    status, body = await http("GET", url, key)
    assert status == 200, body
    return int(body["stats"]["formats"]["replay"]["visitors"])


async def test_a_recorded_event_replays_with_its_slide_and_question(
    mem_server, browser: Browser
) -> None:
    s = await mem_server.setup()
    api = f"{mem_server.url}/api/v1/events/{s.event.id}"
    presenter = await (await browser.new_context()).new_page()
    await presenter.goto(f"{mem_server.url}/room/{s.event.id}#t={s.tokens['presenter']}")
    await expect(presenter.get_by_test_id("my-role")).to_have_text("presenter")
    asker = await s.join("participant", name="Ann")
    manager = await mem_server.client(s.tokens["collaborator"], namespace="/manage")

    await presenter.get_by_test_id("start-event").click()
    await presenter.get_by_test_id("camera-toggle").click()
    await asker.wait_for("media.tracks", lambda d: any(t["kind"] == "video" for t in d["tracks"]))
    await presenter.get_by_test_id("recording-toggle").click()
    await expect(presenter.get_by_test_id("recording-indicator")).to_be_visible()
    await asyncio.sleep(1)
    status, _ = await http("POST", f"{api}/slides", s.api_key, data=png())
    assert status == 201
    await asyncio.sleep(1)
    asked = await asker.call("question.ask", {"text": "Will the replay show this?"})
    assert asked["ok"], asked
    assert (await manager.call("question.push", {"id": asked["question"]["id"]}))["ok"]
    await asyncio.sleep(3)
    await presenter.get_by_test_id("end-event").click()
    await expect(presenter.get_by_test_id("recording-indicator")).to_be_hidden()
    for _ in range(100):  # the recording stops just after the end: then it is on demand
        _, event = await http("GET", api, s.api_key)
        if event["state"] == "on_demand":
            break
        await asyncio.sleep(0.1)
    assert event["state"] == "on_demand", event
    link = presenter.get_by_test_id("replay-link")  # the room says so to whoever stayed
    await expect(link).to_be_visible()
    assert (await link.get_attribute("href")).startswith(f"/replay/{s.event.id}#t=")

    viewer = await (await browser.new_context()).new_page()
    await viewer.goto(f"{mem_server.url}/replay/{s.event.id}#t={s.tokens['participant']}")
    await expect(viewer.get_by_test_id("event-title")).to_have_text(s.event.title)
    await expect(viewer.get_by_test_id("replay-play")).to_be_visible()
    await expect(viewer.get_by_test_id("replay-question")).to_have_count(0)  # not pushed yet
    await viewer.get_by_test_id("replay-play").click()
    await expect(viewer.get_by_test_id("replay-play")).to_have_text("Pause")
    await expect(viewer.get_by_test_id("replay-video")).to_be_visible(timeout=10000)
    await viewer.wait_for_function(PLAYING, timeout=15000)
    await expect(viewer.get_by_test_id("replay-time")).not_to_have_text("0:00 / 0:00")
    slide = viewer.get_by_test_id("replay-slide")
    await expect(slide).to_be_visible(timeout=15000)
    await viewer.wait_for_function(
        "() => document.querySelector('[data-testid=\"replay-slide\"]').naturalWidth === 320"
    )
    question = viewer.get_by_test_id("replay-question")
    await expect(question).to_have_count(1, timeout=15000)
    await expect(question).to_contain_text("Will the replay show this?")

    # The open page is a replay session; leaving it closes the session
    assert await _replay_visitors(f"{api}/stats", s.api_key) == 1
    await viewer.context.close()
    store = mem_server.tribune.store
    for _ in range(100):
        replays = [
            r for r in await sessions.all_sessions(store, s.event.id) if r.format == "replay"
        ]
        if replays[0].end is not None:
            break
        await asyncio.sleep(0.1)
    assert len(replays) == 1 and replays[0].end is not None
    await presenter.context.close()


async def test_the_replay_page_says_when_an_event_has_no_replay(
    mem_server, browser: Browser
) -> None:
    s = await mem_server.setup()
    page: Page = await (await browser.new_context()).new_page()
    await page.goto(f"{mem_server.url}/replay/{s.event.id}#t={s.tokens['participant']}")
    error = page.get_by_test_id("replay-error")
    await expect(error).to_have_text("this event has no replay (not_found)")
    await expect(page.get_by_test_id("replay-play")).to_be_hidden()
    await page.context.close()
