"""In real Chromium: the organizer sees an event's recording on the dashboard, starts its
MP4 export with the button, sees its progress, then the download link, which serves the MP4."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.e2e.dashboard import signed_in
from tests.media.recorded import recorded


async def test_the_dashboard_exports_a_recording_to_mp4(make_server, browser: Browser) -> None:
    server = await make_server()
    account, _ = await server.account("Acme")
    event = await server.event(account, title="Recorded talk")
    rec = await recorded(server, event.id)
    page, errors = await signed_in(server, browser, account)
    await page.get_by_test_id("event-row").filter(has_text="Recorded talk").click()
    await expect(page.get_by_test_id("recordings-count")).to_have_text("1")

    await page.get_by_test_id("export-mp4").click()
    await expect(page.get_by_test_id("export-progress")).to_be_visible()
    link = page.get_by_test_id("export-download")
    await expect(link).to_be_visible(timeout=60_000)
    href = await link.get_attribute("href")
    assert href == f"/api/v1/events/{event.id}/recordings/{rec.id}/export.mp4"
    answer = await page.request.get(server.url + href)  # with the login cookie
    assert answer.status == 200 and answer.headers["content-type"] == "video/mp4"
    assert (await answer.body())[4:8] == b"ftyp"
    await expect(page.get_by_test_id("export-progress")).to_have_count(0)
    assert errors == []
