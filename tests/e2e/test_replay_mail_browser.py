"""The dashboard's event form in real Chromium: the replay mail is on by default, and the
organizer turns it off and on again (`replay-mail`)."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from room.accounts.users import UserKind, create_user
from room.events import list_events


async def test_the_dashboard_turns_the_replay_mail_off_and_on(
    make_server, browser: Browser
) -> None:
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
    await expect(page.get_by_test_id("replay-mail")).to_be_checked()  # on by default
    await page.get_by_test_id("event-title").fill("Quiet replay")
    await page.get_by_test_id("replay-mail").uncheck()
    await page.get_by_test_id("save-event").click()
    await expect(page.get_by_test_id("detail-title")).to_have_text("Quiet replay")
    [event] = await list_events(server.tribune.store, account)
    assert event.settings.replay_mail is False
    await page.get_by_test_id("edit-event").click()
    await expect(page.get_by_test_id("replay-mail")).not_to_be_checked()
    await page.get_by_test_id("replay-mail").check()
    await page.get_by_test_id("save-event").click()
    await expect(page.get_by_test_id("event-editor")).to_be_hidden()  # saved
    [event] = await list_events(server.tribune.store, account)
    assert event.settings.replay_mail is True
    await page.context.close()
