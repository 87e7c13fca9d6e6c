"""Recording in real Chromium: a presenter publishes and records for 5 s, everyone sees the
indicator, the event ends (which stops the recording), and the recording opens as VP8."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
from playwright.async_api import Browser, expect

from tests.e2e.rooms import enter_shared
from tests.helpers import http


async def test_a_presenter_records_five_seconds_and_the_event_ends(
    mem_server, browser: Browser
) -> None:
    s = await mem_server.setup()
    base = f"{mem_server.url}/room/{s.event.id}#t="
    presenter = await (await browser.new_context()).new_page()
    await presenter.goto(base + s.tokens["presenter"])
    await expect(presenter.get_by_test_id("my-role")).to_have_text("presenter")
    attendee = await (await browser.new_context()).new_page()
    await enter_shared(attendee, base + s.tokens["participant"], "Ann")
    await expect(attendee.get_by_test_id("my-role")).to_have_text("participant")
    await expect(attendee.get_by_test_id("recording-toggle")).to_be_hidden()  # may not record

    await presenter.get_by_test_id("start-event").click()
    await presenter.get_by_test_id("camera-toggle").click()
    pid = await presenter.evaluate("window.tribune.state.me.person")
    video = attendee.locator(f'[data-testid="stage-video"][data-identity="{pid}"]')
    await expect(video).to_be_visible(timeout=10000)

    await presenter.get_by_test_id("recording-toggle").click()
    for page in (presenter, attendee):
        await expect(page.get_by_test_id("recording-indicator")).to_be_visible()
    await expect(presenter.get_by_test_id("recording-toggle")).to_have_text("Stop recording")
    await asyncio.sleep(5)
    await presenter.get_by_test_id("end-event").click()
    for page in (presenter, attendee):
        await expect(page.get_by_test_id("recording-indicator")).to_be_hidden()

    status, body = await http(
        "GET", f"{mem_server.url}/api/v1/events/{s.event.id}/recordings", s.api_key
    )
    assert status == 200, body
    [rec] = body["recordings"]
    assert 4 <= rec["duration_s"] <= 12, rec
    folder = Path(mem_server.tribune.config.data_dir) / "recordings" / s.event.id / rec["id"]
    [track] = [t for t in rec["tracks"] if t["kind"] == "video"]
    files = sorted(folder.glob("*.webm"))
    assert files, list(folder.iterdir())
    with av.open(str(files[0])) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "vp8"
        frames = sum(1 for p in container.demux(stream) if p.size)
    assert frames > 30, frames  # several seconds of the presenter's camera
    assert track["codec"].lower() == "vp8"
    for page in (presenter, attendee):
        await page.context.close()


async def test_the_manager_page_starts_and_stops_a_recording(mem_server, browser: Browser) -> None:
    """A collaborator records from the manager page; the room's pages see it run, and the
    recording holds the presenter's camera."""
    s = await mem_server.setup()
    base = f"{mem_server.url}/room/{s.event.id}#t="
    presenter = await (await browser.new_context()).new_page()
    await presenter.goto(base + s.tokens["presenter"])
    await expect(presenter.get_by_test_id("my-role")).to_have_text("presenter")
    await presenter.get_by_test_id("start-event").click()
    await presenter.get_by_test_id("camera-toggle").click()
    await expect(presenter.get_by_test_id("camera-toggle")).to_have_attribute(
        "aria-pressed", "true", timeout=10000
    )
    manager = await (await browser.new_context()).new_page()
    await manager.goto(f"{mem_server.url}/manage/{s.event.id}#t={s.tokens['collaborator']}")
    toggle = manager.get_by_test_id("recording-toggle")
    await expect(toggle).to_have_text("Record")
    await expect(manager.get_by_test_id("recording-indicator")).to_be_hidden()

    await toggle.click()
    for page in (manager, presenter):
        await expect(page.get_by_test_id("recording-indicator")).to_be_visible()
    await expect(toggle).to_have_text("Stop recording")
    await asyncio.sleep(3)
    await toggle.click()
    for page in (manager, presenter):
        await expect(page.get_by_test_id("recording-indicator")).to_be_hidden()
    await expect(toggle).to_have_text("Record")

    status, body = await http(
        "GET", f"{mem_server.url}/api/v1/events/{s.event.id}/recordings", s.api_key
    )
    assert status == 200, body
    [rec] = body["recordings"]
    [video] = [t for t in rec["tracks"] if t["kind"] == "video"]
    folder = Path(mem_server.tribune.config.data_dir) / "recordings" / s.event.id / rec["id"]
    with av.open(str(folder / video["url"].rsplit("/", 1)[1])) as container:
        frames = sum(1 for p in container.demux(container.streams.video[0]) if p.size)
    assert frames > 20, frames
    for page in (presenter, manager):
        await page.context.close()
