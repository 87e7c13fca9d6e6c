"""In real Chromium: the owner opens the Credits page from the dashboard, sees the total
before buying, buys, adds a client, allocates to it and sees the ledger and its export;
an event of a client whose credits ran out shows the warning on the dashboard, and the
event editor sets its client and cost."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from playwright.async_api import Browser, expect

from room import events as ev
from room import keys
from room.accounts.users import UserKind, create_user
from room.records import encode
from room.types import AccessMode

PASSWORD = "browser password 1"


async def test_owner_buys_adds_a_client_allocates_and_sees_the_ledger(
    make_server, browser: Browser, tmp_path: Path
):
    server = await make_server()
    store = server.tribune.store
    account, _ = await server.account("Acme")
    user = await create_user(store, account, "boss@acme.test", "Bea", UserKind.ORGANIZER, PASSWORD)
    user.owner = True
    await store.hset(keys.USERS, user.id, encode(user))
    ctx = await browser.new_context(accept_downloads=True)
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    await page.goto(server.url + "/login")
    await page.get_by_test_id("login-email").fill("boss@acme.test")
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await page.wait_for_url("**/dashboard")
    await page.get_by_test_id("nav-credits").click()
    await page.wait_for_url("**/dashboard/credits")
    await expect(page.get_by_test_id("credits-unallocated")).to_have_text("0")
    await expect(page.get_by_test_id("client-row")).to_have_count(1)  # the own client

    await page.get_by_test_id("credits-buy-amount").fill("600")
    await expect(page.get_by_test_id("credits-buy-total")).to_contain_text("240.00 EUR")
    await expect(page.get_by_test_id("credits-buy")).to_be_enabled()
    await page.get_by_test_id("credits-buy").click()
    await expect(page.get_by_test_id("credits-unallocated")).to_have_text("600")

    await page.get_by_test_id("client-name").fill("Beta <b>Corp</b>")
    await page.get_by_test_id("client-add").click()
    beta = page.get_by_test_id("client-row").filter(has_text="Beta <b>Corp</b>")
    await expect(beta).to_have_count(1)  # text, never markup
    await page.get_by_test_id("allocate-client").select_option(label="Beta <b>Corp</b>")
    await page.get_by_test_id("allocate-amount").fill("120")
    await page.get_by_test_id("allocate-reference").fill("PO-7")
    await page.get_by_test_id("allocate-submit").click()
    await expect(beta.get_by_test_id("client-balance")).to_have_text("120")
    await expect(page.get_by_test_id("credits-unallocated")).to_have_text("480")
    rows = page.get_by_test_id("ledger-row")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("allocation")  # the newest first
    await expect(rows.nth(0)).to_contain_text("PO-7")
    await expect(rows.nth(1)).to_contain_text("purchase")
    await expect(rows.nth(1)).to_contain_text("240.00 EUR")

    async with page.expect_download() as info:
        await page.get_by_test_id("ledger-export-csv").click()
    download = await info.value
    path = tmp_path / "ledger.csv"
    await download.save_as(path)
    table = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert [r[1] for r in table[1:]] == ["purchase", "allocation"]

    # an event of a client with too few credits: the organizer is warned on the dashboard
    await ev.create_event(
        store,
        account,
        ev.EventCreate(
            title="Sold out course",
            access_mode=AccessMode.REGISTRATION,
            client_id="own",
            credit_cost=6,
        ),
    )
    await page.get_by_test_id("nav-dashboard").click()
    await page.wait_for_url("**/dashboard")
    await page.get_by_test_id("event-row").filter(has_text="Sold out course").click()
    await expect(page.get_by_test_id("credits-warning")).to_contain_text("Credits are low")
    # the event editor shows its client; a cost of 0 lifts the warning
    await page.get_by_test_id("edit-event").click()
    await expect(page.get_by_test_id("event-client")).to_have_value("own")
    await page.get_by_test_id("event-credit-cost").fill("0")
    await page.get_by_test_id("save-event").click()
    await expect(page.get_by_test_id("detail-title")).to_have_text("Sold out course")
    await expect(page.get_by_test_id("credits-warning")).to_have_count(0)
    assert not errors, errors
