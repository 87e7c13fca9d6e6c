"""Recording in real Chromium: a presenter publishes and records for 5 s, everyone sees the
indicator, the event ends (which stops the recording), and the recording opens as VP8."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
from playwright.async_api import Browser, expect

from room.accounts.users import UserKind, create_user
from room.events import list_events
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


async def test_the_dashboard_sets_auto_record(make_server, browser: Browser) -> None:
    server = await make_server()
    account, _ = await server.account("Acme")
    await create_user(
        server.tribune.store, account, "org@acme.test", "Olga", UserKind.ORGANIZER, "pw 123456789"
    )
    page = await (await browser.new_context()).new_page()
    await page.goto(server.url + "/login")
    await page.get_by_test_id("login-email").fill("org@acme.test")
    await page.get_by_test_id("login-password").fill("pw 123456789")
    await page.get_by_test_id("login-submit").click()
    await page.wait_for_url("**/dashboard")
    await page.get_by_test_id("new-event").click()
    await expect(page.get_by_test_id("auto-record")).not_to_be_checked()  # off by default
    await page.get_by_test_id("event-title").fill("Recorded talk")
    await page.get_by_test_id("auto-record").check()
    await page.get_by_test_id("save-event").click()
    await expect(page.get_by_test_id("detail-title")).to_have_text("Recorded talk")
    [event] = await list_events(server.tribune.store, account)
    assert event.settings.auto_record is True
    await page.get_by_test_id("edit-event").click()
    await expect(page.get_by_test_id("auto-record")).to_be_checked()
    await page.get_by_test_id("auto-record").uncheck()
    await page.get_by_test_id("save-event").click()
    await expect(page.get_by_test_id("event-editor")).to_be_hidden()  # saved
    [event] = await list_events(server.tribune.store, account)
    assert event.settings.auto_record is False
    await page.context.close()
