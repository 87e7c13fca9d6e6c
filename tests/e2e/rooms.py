"""Entering the room page in real Chromium: a shared participant link asks for a name first."""

from __future__ import annotations

from playwright.async_api import Page, expect


async def enter_shared(page: Page, url: str, name: str = "Participant") -> None:
    """Open a shared participant link and enter under `name` through the name prompt."""
    await page.goto(url)
    await expect(page.get_by_test_id("name-prompt")).to_be_visible()
    await page.get_by_test_id("name-input").fill(name)
    await page.get_by_test_id("name-submit").click()
    await expect(page.get_by_test_id("name-prompt")).to_be_hidden()
