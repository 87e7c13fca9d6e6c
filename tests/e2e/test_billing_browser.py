"""In real Chromium: the owner opens the Billing page from the dashboard, sees both prices
of a batch before confirming, buys it, finds its invoice (a PDF) and cancels it."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from room.accounts import plans
from room.accounts.catalogue import AddOnKind
from room.accounts.clock import DAY, ManualClock
from room.accounts.prices import default_prices
from room.accounts.users import UserKind, create_user
from room.records import Cycle
from tests.signaling.http.test_billing import make_owner


def euros(cents: int) -> str:
    return f"{cents / 100:.2f} EUR"


async def test_the_owner_buys_and_cancels_an_add_on(make_server, browser: Browser) -> None:
    server = await make_server()
    account, _ = await server.account("Acme")
    user = await create_user(
        server.tribune.store, account, "owner@acme.test", "Oona", UserKind.ORGANIZER, "pw billing 1"
    )
    await make_owner(server, user)
    server.tribune.clock = ManualClock(plans.cycle_start(account) + 20.5 * DAY)  # 10 days left
    unit = default_prices().unit_price(AddOnKind.PRESENTER_SEATS, Cycle.MONTHLY)
    full, now = 3 * unit, plans.prorate(3 * unit, 10, 30)
    assert full != now

    ctx = await browser.new_context()
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: d.accept())
    await page.goto(server.url + "/login")
    await page.get_by_test_id("login-email").fill("owner@acme.test")
    await page.get_by_test_id("login-password").fill("pw billing 1")
    await page.get_by_test_id("login-submit").click()
    await page.wait_for_url("**/dashboard")
    await page.get_by_test_id("nav-billing").click()
    await page.wait_for_url("**/dashboard/billing")

    await expect(page.get_by_test_id("billing-plan")).to_contain_text("Monthly")
    await expect(page.get_by_test_id("billing-cycle-end")).not_to_be_empty()
    await page.get_by_test_id("addon-kind").select_option("presenter_seats")
    await page.get_by_test_id("addon-quantity").fill("3")
    await expect(page.get_by_test_id("addon-price-cycle")).to_have_text(euros(full))
    await expect(page.get_by_test_id("addon-charged-now")).to_have_text(euros(now))
    await page.get_by_test_id("addon-buy").click()

    row = page.get_by_test_id("addon-row")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Presenter seats")
    await expect(row.get_by_test_id("addon-status")).to_have_text("active")
    invoice = page.get_by_test_id("invoice-row")
    await expect(invoice).to_have_count(1)
    await expect(invoice).to_contain_text(euros(now))
    href = await invoice.get_by_test_id("invoice-pdf").get_attribute("href")
    assert href is not None
    pdf = await page.request.get(server.url + href)
    assert pdf.status == 200 and (await pdf.body()).startswith(b"%PDF")
    await expect(page.get_by_test_id("billing-limits")).to_contain_text("7 presenter seats")

    await row.get_by_test_id("addon-cancel").click()
    await expect(row.get_by_test_id("addon-status")).to_have_text("cancelled")
    await expect(row.get_by_test_id("addon-cancel")).to_have_count(0)
    await expect(page.get_by_test_id("billing-limits")).to_contain_text("7 presenter seats")
    await expect(page.get_by_test_id("billing-recording-used")).to_contain_text("0.0 MB of")
    assert errors == []
    await ctx.close()
