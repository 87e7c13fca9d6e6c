"""In real Chromium: sign in, create a registration event with a custom field, register on the
public page as an attendee, see the registration in the dashboard, export it, open the stats."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

from playwright.async_api import Browser, expect

from room.accounts.users import UserKind, create_user


async def test_organizer_creates_registration_event_attendee_registers_organizer_exports(
    make_server, browser: Browser
):
    server = await make_server()
    account, _ = await server.account("Acme")
    await create_user(
        server.tribune.store,
        account,
        "org@acme.test",
        "Olga",
        UserKind.ORGANIZER,
        "browser password 1",
    )
    org_ctx = await browser.new_context(accept_downloads=True)
    page = await org_ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    await page.goto(server.url + "/login")
    await page.get_by_test_id("login-email").fill("org@acme.test")
    await page.get_by_test_id("login-password").fill("wrong password!")
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("login-message")).to_contain_text("wrong e-mail or password")
    await page.get_by_test_id("login-password").fill("browser password 1")
    await page.get_by_test_id("login-submit").click()
    await page.wait_for_url("**/dashboard")
    await expect(page.get_by_test_id("who")).to_contain_text("Olga")

    await page.get_by_test_id("new-event").click()
    await page.get_by_test_id("event-title").fill("Spring launch")
    await page.get_by_test_id("event-access").select_option("registration")
    await page.get_by_test_id("add-field").click()
    await page.get_by_test_id("field-label").fill("Company")
    await page.get_by_test_id("field-required").check()
    await page.get_by_test_id("cert-enabled").check()
    await page.get_by_test_id("save-event").click()
    await expect(page.get_by_test_id("detail-title")).to_have_text("Spring launch")
    register_url = await page.get_by_test_id("open-register").get_attribute("href")
    assert register_url and "/register/" in register_url

    attendee = await (await browser.new_context()).new_page()
    attendee.on("pageerror", lambda e: errors.append(str(e)))
    await attendee.goto(register_url)
    await expect(attendee.get_by_test_id("reg-title")).to_have_text("Spring launch")
    await expect(attendee.get_by_test_id("certificate-note")).to_be_visible()
    await attendee.get_by_test_id("reg-email").fill("zoe@example.org")
    await attendee.get_by_test_id("reg-name").fill("Zoë <b>Attendee</b>")
    await attendee.get_by_test_id("field-company").fill("Zeta Corp")
    await attendee.get_by_test_id("reg-submit").click()
    link = attendee.get_by_test_id("reg-link")
    await expect(link).to_contain_text("/room/")
    # the same e-mail again is refused with a clear message
    await attendee.goto(register_url)
    await attendee.get_by_test_id("reg-email").fill("ZOE@example.org")
    await attendee.get_by_test_id("reg-name").fill("Zoë again")
    await attendee.get_by_test_id("field-company").fill("Zeta Corp")
    await attendee.get_by_test_id("reg-submit").click()
    await expect(attendee.get_by_test_id("reg-error")).to_contain_text("already registered")

    await page.get_by_test_id("event-row").filter(has_text="Spring launch").click()
    table = page.get_by_test_id("registrations-table")
    await expect(table).to_contain_text("zoe@example.org")
    await expect(table).to_contain_text("Zoë <b>Attendee</b>")  # text, never markup
    await expect(page.get_by_test_id("registrations-count")).to_have_text("1")

    async with page.expect_download() as info:
        await page.get_by_test_id("export-registrations-csv").click()
    download = await info.value
    path = await download.path()
    text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["registered_at", "email", "name", "Company"]
    assert rows[1][1:] == ["zoe@example.org", "Zoë <b>Attendee</b>", "Zeta Corp"]

    await page.get_by_test_id("open-stats").click()
    await page.wait_for_url("**/stats/*")
    await expect(page.get_by_test_id("stats-live")).to_have_text("live")
    await expect(page.get_by_test_id("visitors")).to_have_text("0")
    await expect(page.get_by_test_id("live-figures")).to_have_text("0 · 0 s")
    await expect(page.get_by_test_id("replay-figures")).to_have_text("0 · 0 s")
    await expect(page.get_by_test_id("geography-note")).to_contain_text("GeoIP")
    await expect(page.get_by_test_id("registrations-total")).to_have_text("1")
    assert errors == []
