"""The room page in real Chromium: start the event, promote a participant live."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.e2e.rooms import enter_shared


async def test_start_and_promote_in_the_browser(mem_server, browser: Browser) -> None:
    s = await mem_server.setup()
    base = f"{mem_server.url}/room/{s.event.id}#t="
    org_ctx = await browser.new_context()
    part_ctx = await browser.new_context()  # separate localStorage: a different device
    org = await org_ctx.new_page()
    part = await part_ctx.new_page()
    errors: list[str] = []
    for page in (org, part):
        page.on("pageerror", lambda e: errors.append(str(e)))
    await org.goto(base + s.tokens["organizer"])
    await enter_shared(part, base + s.tokens["participant"])

    await expect(part.get_by_test_id("event-title")).to_have_text("Test webinar")
    await expect(part.get_by_test_id("event-state")).to_have_text("scheduled")
    await expect(part.get_by_test_id("waiting-room")).to_be_visible()
    await expect(part.get_by_test_id("my-role")).to_have_text("participant")
    await expect(part.get_by_test_id("start-event")).to_be_hidden()

    await org.get_by_test_id("start-event").click()
    await expect(part.get_by_test_id("event-state")).to_have_text("live")
    await expect(part.get_by_test_id("waiting-room")).to_be_hidden()
    await expect(org.get_by_test_id("roster-count")).to_have_text("2")

    row = org.get_by_test_id("roster-item").filter(has_text="participant")
    await row.get_by_test_id("promote").click()
    await expect(part.get_by_test_id("my-role")).to_have_text("presenter")
    await expect(part.get_by_test_id("end-event")).to_be_visible()  # his new rights show

    await part.get_by_test_id("end-event").click()
    await expect(org.get_by_test_id("event-state")).to_have_text("ended")
    assert errors == []
    await org_ctx.close()
    await part_ctx.close()


async def test_refused_link_shows_the_reason(mem_server, browser: Browser) -> None:
    s = await mem_server.setup()
    page = await browser.new_page()
    await page.goto(f"{mem_server.url}/room/{s.event.id}#t=forged.token.value")
    await expect(page.get_by_test_id("error")).to_contain_text("unauthorized")
    await page.close()


async def test_a_shared_link_keeps_its_identity_across_a_reload(mem_server, browser: Browser) -> None:
    s = await mem_server.setup()
    base = f"{mem_server.url}/room/{s.event.id}#t="
    org_ctx = await browser.new_context()
    part_ctx = await browser.new_context()
    org = await org_ctx.new_page()
    part = await part_ctx.new_page()
    errors: list[str] = []
    for page in (org, part):
        page.on("pageerror", lambda e: errors.append(str(e)))
    await org.goto(base + s.tokens["organizer"])
    await enter_shared(part, base + s.tokens["participant"])
    await expect(part.get_by_test_id("my-role")).to_have_text("participant")
    await expect(org.get_by_test_id("roster-count")).to_have_text("2")
    row = org.get_by_test_id("roster-item").filter(has_text="participant")
    await row.get_by_test_id("promote").click()
    await expect(part.get_by_test_id("my-role")).to_have_text("presenter")
    kept = await part.evaluate(f"localStorage.getItem('tribune.identity.{s.event.id}')")
    assert kept and kept.count(".") == 2  # the identity token the server issued

    await part.reload()  # the server knows him again: same identity, same role
    await expect(part.get_by_test_id("my-role")).to_have_text("presenter")
    await expect(org.get_by_test_id("roster-count")).to_have_text("2")
    assert errors == []
    await org_ctx.close()
    await part_ctx.close()
