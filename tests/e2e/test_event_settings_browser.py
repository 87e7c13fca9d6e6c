"""The dashboard's event form in real Chromium: the recording and replay switches
(`auto-record` off by default, `replay-mail` on by default) are saved, shown again when
editing, and turned back."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from room.events import list_events
from tests.e2e.dashboard import signed_in


@pytest.mark.parametrize(
    ("testid", "setting", "default"),
    [("auto-record", "auto_record", False), ("replay-mail", "replay_mail", True)],
)
async def test_the_dashboard_sets_and_clears_an_event_switch(
    make_server, browser: Browser, testid: str, setting: str, default: bool
) -> None:
    server = await make_server()
    account, _ = await server.account("Acme")
    page, errors = await signed_in(server, browser, account)
    box = page.get_by_test_id(testid)
    await page.get_by_test_id("new-event").click()
    await (expect(box).to_be_checked() if default else expect(box).not_to_be_checked())
    await page.get_by_test_id("event-title").fill("A talk")
    await box.set_checked(not default)
    await page.get_by_test_id("save-event").click()
    await expect(page.get_by_test_id("detail-title")).to_have_text("A talk")
    [event] = await list_events(server.tribune.store, account)
    assert getattr(event.settings, setting) is (not default)
    await page.get_by_test_id("edit-event").click()
    await (expect(box).not_to_be_checked() if default else expect(box).to_be_checked())
    await box.set_checked(default)
    await page.get_by_test_id("save-event").click()
    await expect(page.get_by_test_id("event-editor")).to_be_hidden()  # saved
    [event] = await list_events(server.tribune.store, account)
    assert getattr(event.settings, setting) is default
    assert errors == []
    await page.context.close()
