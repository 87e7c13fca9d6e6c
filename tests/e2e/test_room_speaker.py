"""The active speaker in real Chromium: two presenters publish camera and mic (Chromium's
fake devices: the microphone plays a tone); when one mutes, the other's camera becomes the
large tile (`data-speaker="true"`) on an attendee's page, and back when the roles swap.
The page is told so by the server (`media.speaker`): Chromium's Opus packets carry the
RFC 6464 audio level the SFU's answer kept, and the server's detector names the speaker."""

from __future__ import annotations

from playwright.async_api import Browser, Locator, Page, expect

from room import timeline
from tests.e2e.rooms import enter_shared


async def told_last(page: Page, person: str) -> None:
    """The page's last `media.speaker` named `person`."""
    await page.wait_for_function(
        "(p) => window.told && window.told[window.told.length - 1] === p", arg=person, timeout=10000
    )


def speaker_tile(page: Page, person: str) -> Locator:
    main = page.get_by_test_id("stage-main")
    return main.locator(f'div.tile[data-speaker="true"]:has(video[data-identity="{person}"])')


async def test_the_speaking_presenter_takes_the_large_tile(mem_server, browser: Browser) -> None:
    s = await mem_server.setup()
    _, second = await mem_server.invite(s.event, "presenter", name="Second presenter")
    base = f"{mem_server.url}/room/{s.event.id}#t="
    presenters: list[Page] = []
    for token in (s.tokens["presenter"], second):
        ctx = await browser.new_context()
        page = await ctx.new_page()
        await page.goto(base + token)
        await expect(page.get_by_test_id("my-role")).to_have_text("presenter")
        presenters.append(page)
    ids = [await p.evaluate("window.tribune.state.me.person") for p in presenters]
    assert ids[0] != ids[1]
    att_ctx = await browser.new_context()
    attendee = await att_ctx.new_page()
    errors: list[str] = []
    attendee.on("pageerror", lambda e: errors.append(str(e)))
    await enter_shared(attendee, base + s.tokens["participant"], "Watcher")
    await attendee.evaluate(
        "window.tribune.socket.on('media.speaker', (d) => (window.told ||= []).push(d.person))"
    )
    for p in presenters:
        await p.get_by_test_id("camera-toggle").click()
        await p.get_by_test_id("mic-toggle").click()
        await expect(p.get_by_test_id("mic-toggle")).to_have_attribute("aria-pressed", "true")
    videos = attendee.get_by_test_id("stage-video")
    await expect(videos).to_have_count(2, timeout=10000)
    # one large tile, one in the strip
    await expect(attendee.get_by_test_id("stage-main").locator("div.tile")).to_have_count(1)
    await expect(attendee.get_by_test_id("stage-strip").locator("div.tile")).to_have_count(1)

    # the first presenter mutes: the second one speaks
    await presenters[0].get_by_test_id("mic-toggle").click()
    await expect(presenters[0].get_by_test_id("mic-toggle")).to_have_attribute(
        "aria-pressed", "false"
    )
    await expect(speaker_tile(attendee, ids[1])).to_have_count(1, timeout=10000)
    await expect(attendee.locator('div.tile[data-speaker="true"]')).to_have_count(1)
    await told_last(attendee, ids[1])  # by the server, from Chromium's audio levels

    # roles swap: the first unmutes, the second mutes
    await presenters[0].get_by_test_id("mic-toggle").click()
    await expect(presenters[0].get_by_test_id("mic-toggle")).to_have_attribute(
        "aria-pressed", "true"
    )
    await presenters[1].get_by_test_id("mic-toggle").click()
    await expect(presenters[1].get_by_test_id("mic-toggle")).to_have_attribute(
        "aria-pressed", "false"
    )
    await expect(speaker_tile(attendee, ids[0])).to_have_count(1, timeout=10000)
    await expect(
        attendee.get_by_test_id("stage-strip").locator(f'video[data-identity="{ids[1]}"]')
    ).to_have_count(1)
    await told_last(attendee, ids[0])
    # each change is in the event's timeline (noted just after it is sent)
    for _ in range(100):
        notes = await timeline.read(mem_server.tribune.store, s.event.id)
        named = [e.data["person"] for e in notes if e.kind == timeline.SPEAKER]
        if named[-1:] == [ids[0]]:
            break
        await attendee.wait_for_timeout(50)
    # ("" may come between: the speaker muted before the other's audio was back)
    assert [p for p in named if p][-2:] == [ids[1], ids[0]]
    assert errors == []
    for p in [*presenters, attendee]:
        await p.context.close()
