"""In real Chromium: the owner's team page (users added and removed, a secondary account
created and deleted after typing its name) and the organizer's invitations by e-mail in
the event detail (sent, re-issued, revoked) and a collaborator removed."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from room.accounts import secondary, users
from tests.e2e.dashboard import signed_in
from tests.room.audience.helpers import read_outbox


async def signed_in_owner(server, browser: Browser) -> tuple[Page, list[str]]:
    account, _ = await server.account("Acme")
    return await signed_in(server, browser, account, "boss@acme.test", "Bo", owner=True)


async def test_the_owner_manages_users_and_secondary_accounts(
    make_server, browser: Browser, monkeypatch: pytest.MonkeyPatch
):
    async def one(store: object, account_id: str, now: float) -> int:
        return 1  # stands in for a bought secondary-accounts add-on

    monkeypatch.setattr(secondary, "secondary_allowance", one)
    server = await make_server()
    page, errors = await signed_in_owner(server, browser)
    await page.get_by_test_id("nav-team").click()
    await page.wait_for_url("**/dashboard/team")

    await page.get_by_test_id("user-email").fill("mo@acme.test")
    await page.get_by_test_id("user-name").fill("Mo <i>Multi</i>")
    await page.get_by_test_id("user-add").click()
    rows = page.get_by_test_id("user-row")
    await expect(rows).to_have_count(2)
    await expect(rows.filter(has_text="mo@acme.test")).to_contain_text("Mo <i>Multi</i>")
    await rows.filter(has_text="mo@acme.test").get_by_test_id("user-remove").click()
    await expect(rows).to_have_count(1)
    assert await users.user_by_email(server.tribune.store, "mo@acme.test") is None

    await page.get_by_test_id("secondary-name").fill("Branch")
    await page.get_by_test_id("secondary-owner-email").fill("br@acme.test")
    await page.get_by_test_id("secondary-add").click()
    row = page.get_by_test_id("secondary-row")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("br@acme.test")
    await row.get_by_test_id("secondary-delete").click()
    await row.get_by_test_id("secondary-confirm").fill("not its name")
    await row.get_by_test_id("secondary-erase").click()
    await expect(page.get_by_test_id("error")).to_contain_text("confirm")
    await expect(row).to_have_count(1)
    await row.get_by_test_id("secondary-confirm").fill("Branch")
    await row.get_by_test_id("secondary-erase").click()
    await expect(page.get_by_test_id("secondary-row")).to_have_count(0)
    assert await users.user_by_email(server.tribune.store, "br@acme.test") is None
    assert errors == []


async def test_the_organizer_invites_by_email_reissues_revokes_and_removes_a_collaborator(
    make_server, browser: Browser
):
    server = await make_server()
    page, errors = await signed_in_owner(server, browser)
    await page.get_by_test_id("new-event").click()
    await page.get_by_test_id("event-title").fill("Panel")
    await page.get_by_test_id("save-event").click()
    await expect(page.get_by_test_id("detail-title")).to_have_text("Panel")

    await page.get_by_test_id("invite-email").fill("pia@x.test")
    await page.get_by_test_id("invite-role").select_option("presenter")
    await page.get_by_test_id("invite-send").click()
    row = page.get_by_test_id("invite-row")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("pia@x.test")
    await expect(row).to_contain_text("presenter")
    await row.get_by_test_id("invite-reissue").click()
    await expect(row).to_contain_text("(link 2)")
    await row.get_by_test_id("invite-revoke").click()
    await expect(page.get_by_test_id("invite-row")).to_have_count(0)
    await expect(page.get_by_test_id("activity-table")).to_contain_text("invitation.revoked")
    mailed = [m for m in read_outbox(server) if m["To"] == "pia@x.test"]
    for _ in range(100):
        if len(mailed) >= 2:
            break
        await page.wait_for_timeout(100)
        mailed = [m for m in read_outbox(server) if m["To"] == "pia@x.test"]
    assert len(mailed) == 2  # the first link, then the re-issued one

    await page.get_by_test_id("collaborator-email").fill("col@x.test")
    await page.get_by_test_id("collaborator-add").click()
    await expect(page.get_by_test_id("collaborators")).to_contain_text("col@x.test")
    await page.get_by_test_id("collaborator-remove").click()
    await expect(page.get_by_test_id("collaborators")).not_to_contain_text("col@x.test")
    assert errors == []
