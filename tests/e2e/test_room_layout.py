"""The attendee's room in real Chromium: the stage on top at full width, the display name
prompt of a shared link, and a phone-sized viewport without horizontal scrolling."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.e2e.rooms import enter_shared
from tests.moderation.pdfs import pdf

OVERFLOW = "document.documentElement.scrollWidth"


async def shot(page: Page, path: Path) -> None:
    png = await page.screenshot(path=str(path), full_page=True)
    assert png.startswith(b"\x89PNG"), path


async def test_phone_and_desktop_layouts(mem_server, browser: Browser, tmp_path: Path) -> None:
    s = await mem_server.setup()
    base = f"{mem_server.url}/room/{s.event.id}#t="
    pres_ctx = await browser.new_context()
    presenter = await pres_ctx.new_page()
    await presenter.goto(base + s.tokens["presenter"])
    await expect(presenter.get_by_test_id("name-prompt")).to_be_hidden()  # a personal link
    await expect(presenter.get_by_test_id("my-role")).to_have_text("presenter")
    await presenter.get_by_test_id("camera-toggle").click()
    pid = await presenter.evaluate("window.tribune.state.me.person")
    for width, height, name in ((390, 844, "phone"), (1280, 800, "desktop")):
        ctx = await browser.new_context(viewport={"width": width, "height": height})
        page = await ctx.new_page()
        await enter_shared(page, base + s.tokens["participant"], f"Viewer {name}")
        main = page.get_by_test_id("stage-main")
        await expect(
            main.locator(f'[data-testid="stage-video"][data-identity="{pid}"]')
        ).to_be_visible(timeout=10000)
        # the stage spans the width; the panels come below it
        stage = await page.get_by_test_id("stage").bounding_box()
        roster = await page.get_by_test_id("roster").bounding_box()
        assert stage is not None and roster is not None
        assert stage["width"] >= width * 0.85, (name, stage)
        assert roster["y"] > stage["y"] + stage["height"], (name, stage, roster)
        await shot(page, tmp_path / f"room-{name}.png")
        assert await page.evaluate(OVERFLOW) <= width, name
        await ctx.close()
    await pres_ctx.close()


async def test_shared_link_asks_for_a_name_and_remembers_it(mem_server, browser: Browser) -> None:
    s = await mem_server.setup()
    base = f"{mem_server.url}/room/{s.event.id}#t="
    org_ctx = await browser.new_context()
    org = await org_ctx.new_page()
    await org.goto(base + s.tokens["organizer"])
    await expect(org.get_by_test_id("my-role")).to_have_text("organizer")
    await expect(org.get_by_test_id("name-prompt")).to_be_hidden()
    ctx = await browser.new_context()
    page = await ctx.new_page()
    await page.goto(base + s.tokens["participant"])
    await expect(page.get_by_test_id("name-prompt")).to_be_visible()
    await expect(page.get_by_test_id("my-role")).to_have_text("…")  # not connected while asked
    await page.get_by_test_id("name-submit").click()  # an empty name is not taken
    await expect(page.get_by_test_id("name-prompt")).to_be_visible()
    await page.get_by_test_id("name-input").fill("  Ada Lovelace ")
    await page.get_by_test_id("name-submit").click()
    await expect(page.get_by_test_id("my-role")).to_have_text("participant")
    await expect(org.get_by_test_id("roster-item").filter(has_text="Ada Lovelace")).to_have_count(1)
    # back with the identity this browser keeps: no question, the same person
    await page.reload()
    await expect(page.get_by_test_id("my-role")).to_have_text("participant")
    await expect(page.get_by_test_id("name-prompt")).to_be_hidden()
    # a new identity in this browser (the kept one forgotten): asked again, prefilled
    await page.evaluate(f"localStorage.removeItem('tribune.identity.{s.event.id}')")
    await page.reload()
    await expect(page.get_by_test_id("name-prompt")).to_be_visible()
    await expect(page.get_by_test_id("name-input")).to_have_value("Ada Lovelace")
    await page.get_by_test_id("name-submit").click()
    await expect(page.get_by_test_id("my-role")).to_have_text("participant")
    await ctx.close()
    await org_ctx.close()


async def test_personal_participant_link_is_never_asked_for_a_name(
    mem_server, browser: Browser
) -> None:
    s = await mem_server.setup()
    _, token = await mem_server.invite(s.event, "participant", name="Grace Hopper")
    base = f"{mem_server.url}/room/{s.event.id}#t="
    org_ctx = await browser.new_context()
    org = await org_ctx.new_page()
    await org.goto(base + s.tokens["organizer"])
    await expect(org.get_by_test_id("my-role")).to_have_text("organizer")
    ctx = await browser.new_context()  # a browser that never entered: nothing remembered
    page = await ctx.new_page()
    await page.goto(base + token)
    await expect(page.get_by_test_id("my-role")).to_have_text("participant")
    await expect(page.get_by_test_id("name-prompt")).to_be_hidden()
    await expect(org.get_by_test_id("roster-item").filter(has_text="Grace Hopper")).to_have_count(1)
    await ctx.close()
    await org_ctx.close()


async def test_main_area_is_the_screen_else_the_slide_else_a_camera(
    mem_server, browser: Browser, tmp_path: Path
) -> None:
    s = await mem_server.setup()
    base = f"{mem_server.url}/room/{s.event.id}#t="
    pres_ctx = await browser.new_context()
    presenter = await pres_ctx.new_page()
    await presenter.goto(base + s.tokens["presenter"])
    await expect(presenter.get_by_test_id("my-role")).to_have_text("presenter")
    pid = await presenter.evaluate("window.tribune.state.me.person")
    att_ctx = await browser.new_context()
    attendee = await att_ctx.new_page()
    await enter_shared(attendee, base + s.tokens["participant"])
    main = attendee.get_by_test_id("stage-main")
    strip = attendee.get_by_test_id("stage-strip")
    camera = f'video[data-identity="{pid}"][data-source="camera"]'
    screen = f'video[data-identity="{pid}"][data-source="screen"]'
    await presenter.get_by_test_id("camera-toggle").click()
    await expect(main.locator(camera)).to_have_count(1, timeout=10000)
    await expect(strip).to_be_hidden()
    # a screen share takes the main area; the camera goes to the strip
    await presenter.get_by_test_id("screen-toggle").click()
    await expect(main.locator(screen)).to_have_count(1, timeout=10000)
    await expect(strip.locator(camera)).to_have_count(1)
    await presenter.get_by_test_id("screen-toggle").click()
    await expect(main.locator(camera)).to_have_count(1, timeout=10000)
    # slides shown in the room: the current slide is the main area
    manager = await pres_ctx.new_page()
    await manager.goto(f"{mem_server.url}/manage/{s.event.id}#t={s.tokens['presenter']}")
    await expect(manager.get_by_test_id("connection")).to_have_text("connected")
    deck = tmp_path / "talk.pdf"
    deck.write_bytes(pdf(2))
    await manager.get_by_test_id("slides-file").set_input_files(str(deck))
    await manager.get_by_test_id("slides-upload").click()
    await expect(main.get_by_test_id("slide-image")).to_be_visible()
    await expect(strip.locator(camera)).to_have_count(1)
    await expect(main.locator("div.tile")).to_have_count(0)
    await att_ctx.close()
    await pres_ctx.close()
