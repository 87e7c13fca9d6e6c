"""Signing in to the dashboard in real Chromium, as an organizer the test creates."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, Page

from room.accounts.users import UserKind, create_user

PASSWORD = "browser password 1"


async def signed_in(
    server: Any,
    browser: Browser,
    account: Any,
    email: str = "org@acme.test",
    name: str = "Olga",
    *,
    owner: bool = False,
) -> tuple[Page, list[str]]:
    """A dashboard page signed in as a new organizer of `account` (the owner if `owner`),
    and the page errors it collects. Dialogs are accepted."""
    await create_user(
        server.tribune.store, account, email, name, UserKind.ORGANIZER, PASSWORD, owner=owner
    )
    page = await (await browser.new_context()).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: d.accept())
    await page.goto(server.url + "/login")
    await page.get_by_test_id("login-email").fill(email)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await page.wait_for_url("**/dashboard")
    return page, errors
