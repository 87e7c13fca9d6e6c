"""The replay in real Chromium: a presenter's camera is recorded from a real browser while a
slide is shown, questions are pushed to the second screen and a poll is opened and voted
on; the event ends and is on demand; a participant's link opens /replay, plays it on one
clock, and sees the slide, the question and the poll with its results appear when they were
shown live. Seeking to the middle moves the clock, the video and the questions there. The
page counts as a replay session."""

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
    made = await manager.call(
        "poll.create", {"question": "Replay later?", "options": ["Yes", "No"], "show_results": True}
    )
    assert made["ok"], made
    assert (await manager.call("poll.open", {"id": made["poll"]["id"]}))["ok"]
    await asker.wait_for("poll.changed", lambda d: d["poll"] and d["poll"]["state"] == "open")
    voted = await asker.call("poll.vote", {"id": made["poll"]["id"], "choices": [0]})
    assert voted["ok"], voted
    await asyncio.sleep(3)
    late = await asker.call("question.ask", {"text": "Asked late"})
    assert (await manager.call("question.push", {"id": late["question"]["id"]}))["ok"]
    await asyncio.sleep(1.5)
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
    poll = viewer.get_by_test_id("replay-poll")  # opened, then its results at their time
    await expect(poll).to_be_visible(timeout=15000)
    await expect(poll).to_contain_text("Replay later?")
    await expect(poll.get_by_test_id("replay-poll-count").first).to_have_text(" — 1")
    await expect(poll.get_by_test_id("replay-poll-count").last).to_have_text(" — 0")
    await _seeks_to_the_middle(viewer, mem_server.url, s.event.id, s.tokens["participant"])

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


def _clock(seconds: float) -> str:
    s = int(max(0.0, seconds))
    return f"{s // 60}:{s % 60:02d}"


async def _seeks_to_the_middle(viewer: Page, url: str, event_id: str, token: str) -> None:
    """Paused, the viewer drags `replay-seek` to the middle: the clock, the main video and
    the question list are there (the question pushed later is gone); at the end both
    questions show, at the start none and no poll."""
    status, data = await http("GET", f"{url}/api/v1/replay/{event_id}", token)
    assert status == 200, data
    [rec] = data["recordings"]
    pushed = [
        e["t"] for e in rec["timeline"] if e["kind"] == "question.changed" and e["data"]["question"]
    ]
    middle = round(rec["duration_s"] / 2, 1)
    assert len(pushed) == 2 and pushed[0] < middle < pushed[1], (pushed, middle)
    [video] = [t for t in rec["tracks"] if t["kind"] == "video"]
    await viewer.get_by_test_id("replay-play").click()
    await expect(viewer.get_by_test_id("replay-play")).to_have_text("Play")
    await viewer.get_by_test_id("replay-seek").fill(str(middle))
    total = _clock(rec["duration_s"])
    await expect(viewer.get_by_test_id("replay-time")).to_have_text(f"{_clock(middle)} / {total}")
    await viewer.wait_for_function(
        """(at) => {
          const v = document.querySelector('[data-testid="replay-video"]');
          return v !== null && Math.abs(v.currentTime - at) < 0.3;
        }""",
        arg=middle - video["offset"],
    )
    question = viewer.get_by_test_id("replay-question")
    await expect(question).to_have_count(1)
    await expect(question).to_contain_text("Will the replay show this?")
    await expect(viewer.get_by_test_id("replay-poll")).to_be_visible()
    await viewer.get_by_test_id("replay-seek").fill(str(round(rec["duration_s"] - 0.1, 1)))
    await expect(question).to_have_count(2)
    await expect(question.last).to_contain_text("Asked late")
    await viewer.get_by_test_id("replay-seek").fill("0")
    await expect(viewer.get_by_test_id("replay-time")).to_have_text(f"0:00 / {total}")
    await expect(question).to_have_count(0)
    await expect(viewer.get_by_test_id("replay-poll")).to_be_hidden()


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
