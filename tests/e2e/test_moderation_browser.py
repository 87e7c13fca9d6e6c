"""The questions flow in real Chromium: room page -> manager page -> second screen.

Also proves user text is never run as markup on the manager page or the screen.
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.e2e.rooms import enter_shared
from tests.moderation.pdfs import pdf

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


async def by_id(manager: Page, text: str):
    """The manager's row of the question with `text`, found by its id (its text may change)."""
    row = manager.get_by_test_id("question-row").filter(has_text=text)
    await expect(row).to_be_visible()
    qid = await row.get_attribute("data-id")
    return manager.locator(f'[data-testid="question-row"][data-id="{qid}"]')


async def open_screen(org_ctx, manager: Page, errors: list[str]) -> Page:
    link = manager.get_by_test_id("open-screen")
    await expect(link).not_to_have_attribute("href", "#")
    async with org_ctx.expect_page() as info:
        await link.click()
    screen = await info.value
    screen.on("pageerror", lambda e: errors.append(str(e)))
    await expect(screen.get_by_test_id("screen-status")).to_have_text("live")
    # the moderator goes on working in the manager tab; the screen tab keeps up in the background
    await manager.bring_to_front()
    return screen


async def test_ask_push_show_answer(mem_server, browser: Browser) -> None:
    s = await mem_server.setup()
    part_ctx = await browser.new_context()
    org_ctx = await browser.new_context()
    part = await part_ctx.new_page()
    manager = await org_ctx.new_page()
    errors: list[str] = []
    for page in (part, manager):
        page.on("pageerror", lambda e: errors.append(str(e)))
    await enter_shared(part, f"{mem_server.url}/room/{s.event.id}#t={s.tokens['participant']}")
    await manager.goto(f"{mem_server.url}/manage/{s.event.id}#t={s.tokens['organizer']}")
    await expect(manager.get_by_test_id("connection")).to_have_text("connected")
    screen = await open_screen(org_ctx, manager, errors)
    assert screen.url.startswith(f"{mem_server.url}/screen/{s.event.id}#t=")
    await expect(screen.get_by_test_id("screen-empty")).to_be_visible()

    # the participant asks
    await part.get_by_test_id("question-input").fill("When do the slides go online?")
    await part.get_by_test_id("question-submit").click()
    mine = part.get_by_test_id("my-question")
    await expect(mine).to_contain_text("When do the slides go online?")
    await expect(mine.get_by_test_id("my-question-status")).to_have_text("sent to the moderators")

    # the manager page shows it live; the moderator pushes it
    row = await by_id(manager, "When do the slides go online?")
    await row.get_by_test_id("question-push").click()

    # the screen shows it within 2 s, and the author sees it is on screen
    shown = screen.get_by_test_id("screen-question")
    await expect(shown).to_have_count(1, timeout=2000)
    await expect(shown).to_contain_text("When do the slides go online?", timeout=2000)
    await expect(mine.get_by_test_id("my-question-status")).to_have_text("on screen now")

    # an edit updates the screen in place
    await row.get_by_test_id("question-edit").click()
    await row.get_by_test_id("question-edit-input").fill("When will the slides be online?")
    await row.get_by_test_id("question-edit-save").click()
    await expect(shown).to_contain_text("When will the slides be online?")
    await expect(row.get_by_test_id("question-original")).to_contain_text("When do the slides go online?")

    # a network blip: the screen reconnects by itself and catches up on what it missed
    await screen.evaluate("window.tribune.socket.io.engine.close()")
    await manager.get_by_test_id("question-add-input").fill("Next: the roadmap")
    await manager.get_by_test_id("question-add").click()
    second = await by_id(manager, "Next: the roadmap")
    await second.get_by_test_id("question-push").click()
    await expect(shown).to_have_count(2)
    await expect(shown.nth(1)).to_contain_text("Next: the roadmap")
    await expect(screen.get_by_test_id("screen-status")).to_have_text("live")

    # answered: gone from the screen
    await row.get_by_test_id("question-answered").click()
    await expect(shown).to_have_count(1)
    await expect(shown.first).to_contain_text("Next: the roadmap")
    await expect(mine.get_by_test_id("my-question-status")).to_have_text("answered")
    await second.get_by_test_id("question-answered").click()
    await expect(shown).to_have_count(0)
    await expect(screen.get_by_test_id("screen-empty")).to_be_visible()

    # hide and delete from the manager page
    await row.get_by_test_id("question-hide").click()
    await expect(row.get_by_test_id("tag-hidden")).to_be_visible()
    await second.get_by_test_id("question-delete").click()
    await second.get_by_test_id("question-delete").click()  # confirm
    await expect(manager.get_by_test_id("question-row")).to_have_count(1)
    assert errors == []
    await part_ctx.close()
    await org_ctx.close()


async def test_markup_in_a_question_never_runs(mem_server, browser: Browser) -> None:
    s = await mem_server.setup()
    part_ctx = await browser.new_context()
    org_ctx = await browser.new_context()
    part = await part_ctx.new_page()
    manager = await org_ctx.new_page()
    errors: list[str] = []
    for page in (part, manager):
        page.on("pageerror", lambda e: errors.append(str(e)))
    await enter_shared(part, f"{mem_server.url}/room/{s.event.id}#t={s.tokens['participant']}")
    await manager.goto(f"{mem_server.url}/manage/{s.event.id}#t={s.tokens['organizer']}")
    await expect(manager.get_by_test_id("connection")).to_have_text("connected")
    screen = await open_screen(org_ctx, manager, errors)

    await part.get_by_test_id("question-input").fill(XSS)
    await part.get_by_test_id("question-submit").click()
    await part.get_by_test_id("chat-input").fill(XSS)
    await part.get_by_test_id("chat-send").click()
    row = manager.get_by_test_id("question-row")
    await expect(row.get_by_test_id("question-text")).to_have_text(XSS)
    await expect(manager.get_by_test_id("chat-text")).to_have_text(XSS)
    await row.get_by_test_id("question-push").click()
    await expect(screen.get_by_test_id("screen-question-text")).to_have_text(XSS)
    await expect(part.get_by_test_id("my-question-text")).to_have_text(XSS)
    await expect(part.get_by_test_id("chat-text")).to_have_text(XSS)
    # give a broken image every chance to fire its handler, then look
    await manager.wait_for_load_state("networkidle")
    await screen.wait_for_load_state("networkidle")
    for page in (manager, screen, part):
        assert await page.evaluate("window.__xss") is None
        assert await page.locator("main img[src='x'], .mod-grid img[src='x'], li script").count() == 0
    assert errors == []
    await part_ctx.close()
    await org_ctx.close()


async def test_poll_and_slides_in_the_browser(mem_server, browser: Browser, tmp_path: Path) -> None:
    s = await mem_server.setup()
    part_ctx = await browser.new_context()
    org_ctx = await browser.new_context()
    part = await part_ctx.new_page()
    manager = await org_ctx.new_page()
    errors: list[str] = []
    for page in (part, manager):
        page.on("pageerror", lambda e: errors.append(str(e)))
    await enter_shared(part, f"{mem_server.url}/room/{s.event.id}#t={s.tokens['participant']}")
    await manager.goto(f"{mem_server.url}/manage/{s.event.id}#t={s.tokens['organizer']}")
    await expect(manager.get_by_test_id("connection")).to_have_text("connected")

    await manager.get_by_test_id("poll-question").fill("Is the sound OK?")
    await manager.get_by_test_id("poll-options").fill("Yes\nNo")
    await manager.get_by_test_id("poll-show-results").check()
    await manager.get_by_test_id("poll-create").click()
    poll = manager.get_by_test_id("poll-row").filter(has_text="Is the sound OK?")
    await expect(poll.get_by_test_id("poll-state")).to_have_text("draft")
    await poll.get_by_test_id("poll-open").click()
    await expect(part.get_by_test_id("poll-title")).to_have_text("Is the sound OK?")
    await part.get_by_test_id("poll-option").nth(1).locator("input").check()
    await part.get_by_test_id("poll-vote").click()
    await expect(poll.get_by_test_id("poll-count").nth(1)).to_have_text("1")
    await expect(part.get_by_test_id("poll-count").nth(1)).to_have_text(" — 1")
    await poll.get_by_test_id("poll-close").click()
    await expect(part.get_by_test_id("poll-status")).to_have_text("This poll is closed.")

    deck = tmp_path / "talk.pdf"
    deck.write_bytes(pdf(3))
    await manager.get_by_test_id("slides-file").set_input_files(str(deck))
    await manager.get_by_test_id("slides-upload").click()
    await expect(manager.get_by_test_id("slide-position")).to_have_text("1 / 3")
    image = part.get_by_test_id("slide-image")
    await expect(image).to_be_visible()
    await manager.get_by_test_id("slides-next").click()
    await expect(part.get_by_test_id("slide-position")).to_have_text("2 / 3", timeout=1000)
    await expect(image).to_have_attribute("data-index", "1")
    loaded = await image.evaluate("img => img.complete && img.naturalWidth")
    assert loaded == 1600
    # the page shows the signed link the room handed out (an <img> sends no Bearer header)
    assert "?sig=" in (await image.get_attribute("src") or "")
    assert errors == []
    await part_ctx.close()
    await org_ctx.close()


async def test_two_moderators_stale_edit_is_refused(mem_server, browser: Browser) -> None:
    s = await mem_server.setup()
    asker = await s.join("participant")
    await asker.call("question.ask", {"text": "Original wording"})
    pages = []
    for role in ("organizer", "collaborator"):
        ctx = await browser.new_context()
        page = await ctx.new_page()
        await page.goto(f"{mem_server.url}/manage/{s.event.id}#t={s.tokens[role]}")
        pages.append((ctx, page))
    (ctx1, mia), (ctx2, max_) = pages
    row_mia = await by_id(mia, "Original wording")
    row_max = await by_id(max_, "Original wording")
    await row_mia.get_by_test_id("question-edit").click()
    await row_max.get_by_test_id("question-edit").click()
    await row_mia.get_by_test_id("question-edit-input").fill("Mia's wording")
    await row_mia.get_by_test_id("question-edit-save").click()
    await expect(row_mia.get_by_test_id("question-text")).to_have_text("Mia's wording")
    # Max's editor warns him, and saving his stale edit is refused, not overwriting Mia's
    await expect(row_max.get_by_test_id("question-edit-stale")).to_contain_text("Mia's wording")
    await row_max.get_by_test_id("question-edit-input").fill("Max's wording")
    await row_max.get_by_test_id("question-edit-save").click()
    await expect(max_.get_by_test_id("error")).to_contain_text("conflict")
    await row_max.get_by_test_id("question-edit-cancel").click()
    await expect(row_max.get_by_test_id("question-text")).to_have_text("Mia's wording")
    await expect(row_mia.get_by_test_id("question-text")).to_have_text("Mia's wording")
    await asker.close()
    await ctx1.close()
    await ctx2.close()
