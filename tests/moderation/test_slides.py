"""Slides: rendering uploads, the deck, the current slide, late joiners."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from moderation import audit, render, slides
from moderation.limits import Limits
from room.changes import Audience
from room.errors import Code, TribuneError
from room.records import Event
from room.store import Store
from room.types import Role
from tests.moderation.conftest import person
from tests.moderation.pdfs import colour_of, pdf, png

DRIVER = person(Role.COLLABORATOR, "Dee")


def test_render_pdf_pages_in_order_at_slide_width():
    images = render.render([pdf(3)], Limits(slide_width=400))
    assert len(images) == 3
    sizes = [Image.open(io.BytesIO(i)).size for i in images]
    assert sizes == [(400, 300)] * 3
    r, g, b = colour_of(images[0])
    assert r > 200 and g < 60 and b < 60  # page 1 is red
    r, g, b = colour_of(images[2])
    assert b > 200 and r < 60  # page 3 is blue


def test_render_images_and_pdf_together():
    images = render.render([png(), pdf(2)], Limits(slide_width=320))
    assert len(images) == 3
    assert Image.open(io.BytesIO(images[0])).format == "JPEG"


@pytest.mark.parametrize("data", [b"", b"not a document", b"%PDF-1.4 broken"])
def test_render_refuses_garbage(data: bytes):
    with pytest.raises(TribuneError) as err:
        render.render([data])
    assert (err.value.code, err.value.field) == (Code.INVALID, "file")


def test_render_refuses_huge_images():
    message = refusal([png(size=(3000, 3000))], Limits(slide_max_pixels=1_000_000))
    assert "this image is too large" in message and "1,000,000 pixels" in message


def image_as(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(out, fmt)
    return out.getvalue()


def refusal(files: list[bytes], limits: Limits) -> str:
    with pytest.raises(TribuneError) as err:
        render.render(files, limits)
    assert (err.value.code, err.value.field) == (Code.INVALID, "file")
    return str(err.value)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "WEBP"])
def test_render_accepts_only_pdf_png_and_jpeg(fmt: str):
    message = refusal([image_as(fmt)], Limits())
    assert "only PDF, PNG and JPEG" in message
    # a PNG or JPEG body is checked by its first bytes, not trusted from its name
    assert len(render.render([image_as("PNG"), image_as("JPEG")], Limits())) == 2


def test_render_caps_the_page_count_across_files():
    assert "at most 4 slides" in refusal([pdf(3), pdf(2)], Limits(slides_per_deck=4))
    assert "at most 2 slides" in refusal([png(), png(), png()], Limits(slides_per_deck=2))
    assert len(render.render([pdf(2), png()], Limits(slides_per_deck=3))) == 3


def test_render_caps_the_total_output_bytes():
    one = len(render.render([pdf(1)], Limits(slide_width=400))[0])
    limits = Limits(slide_width=400, slide_deck_bytes=2 * one + one // 2)
    assert len(render.render([pdf(2)], limits)) == 2
    message = refusal([pdf(3)], limits)
    assert f"{limits.slide_deck_bytes} bytes" in message and "rendered slides" in message


def test_render_has_a_time_limit():
    """The deadline is checked before each page: with no time at all, nothing is rendered."""
    for files in ([pdf(2)], [png()]):
        message = refusal(files, Limits(slide_render_seconds=0))
        assert "0 seconds" in message


async def test_deck_goto_and_late_joiner(store: Store, event: Event):
    images = [b"one", b"two", b"three"]
    out = await slides.replace_deck(store, event.id, DRIVER, images, ["talk.pdf"])
    [change] = out.changes
    assert change.name == "slides.changed"
    assert set(change.payloads) == {Audience.STAFF, Audience.AUDIENCE}
    view = change.payloads[Audience.AUDIENCE]["slides"]
    assert view["index"] == 0 and view["count"] == 3
    deck = view["deck"]
    assert view["url"] == f"/slides/{event.id}/{deck}/0"
    out = await slides.goto(store, event.id, DRIVER, 2)
    assert out.changes[0].payloads[Audience.AUDIENCE]["slides"]["index"] == 2
    assert (await slides.goto(store, event.id, DRIVER, 2)).changes == []  # already there
    late = await slides.current_view(store, event.id)
    assert late is not None and (late.deck, late.index) == (deck, 2)
    assert await slides.image(store, event.id, deck, 2) == b"three"
    for bad in (3, 99):
        with pytest.raises(TribuneError) as err:
            await slides.goto(store, event.id, DRIVER, bad)
        assert (err.value.code, err.value.field) == (Code.INVALID, "index")


async def test_new_deck_replaces_old_images(store: Store, event: Event):
    first = (await slides.replace_deck(store, event.id, DRIVER, [b"a"], ["a"])).ack.slides
    await slides.replace_deck(store, event.id, DRIVER, [b"b", b"c"], ["b"])
    with pytest.raises(TribuneError):
        await slides.image(store, event.id, first.deck, 0)
    current = await slides.current_view(store, event.id)
    assert current is not None and current.count == 2 and current.index == 0
    out = await slides.clear(store, event.id, DRIVER)
    assert out.changes[0].payloads[Audience.AUDIENCE]["slides"] is None
    assert await slides.current_view(store, event.id) is None
    actions = [e.action for e in await audit.entries(store, event.id)]
    assert actions == ["slides.upload", "slides.upload", "slides.clear"]


async def test_goto_without_deck_is_not_found(store: Store, event: Event):
    with pytest.raises(TribuneError) as err:
        await slides.goto(store, event.id, DRIVER, 0)
    assert err.value.code is Code.NOT_FOUND


async def test_attendees_read_only_slides_already_shown(store: Store, event: Event):
    """Issue 9, item 7: anyone who may not drive the slides (an attendee, the screen, a bare
    signed link) reads pages up to the furthest shown so far; those who drive read all."""
    images = [b"0", b"1", b"2", b"3"]
    deck = (await slides.replace_deck(store, event.id, DRIVER, images, ["d"])).ack.slides.deck
    attendees = (Role.PARTICIPANT, Role.SCREEN, None)

    async def refused(index: int, role: Role | None) -> Code:
        with pytest.raises(TribuneError) as err:
            await slides.image(store, event.id, deck, index, role)
        return err.value.code

    for role in attendees:
        assert await slides.image(store, event.id, deck, 0, role) == b"0"
        assert await refused(1, role) is Code.FORBIDDEN
    for role in (Role.COLLABORATOR, Role.PRESENTER, Role.ORGANIZER):
        assert await slides.image(store, event.id, deck, 3, role) == b"3"
    await slides.goto(store, event.id, DRIVER, 2)
    await slides.goto(store, event.id, DRIVER, 1)  # going back does not hide slide 2
    for role in attendees:
        assert await slides.image(store, event.id, deck, 2, role) == b"2"
        assert await refused(3, role) is Code.FORBIDDEN
    assert await slides.image(store, event.id, deck, 0, None) == b"0"
    # a new deck starts again from its first slide; the old one is gone for everyone
    new = (await slides.replace_deck(store, event.id, DRIVER, [b"a", b"b"], ["e"])).ack.slides.deck
    assert await slides.image(store, event.id, new, 0, Role.PARTICIPANT) == b"a"
    assert await refused(1, Role.PARTICIPANT) is Code.NOT_FOUND  # the old deck's
    with pytest.raises(TribuneError) as err:
        await slides.image(store, event.id, new, 1, Role.PARTICIPANT)
    assert err.value.code is Code.FORBIDDEN


async def test_deck_links_carry_the_signature_given_at_upload(store: Store, event: Event):
    async def sign(deck_id: str) -> str:
        return f"sig-of-{deck_id}"

    view = (await slides.replace_deck(store, event.id, DRIVER, [b"x"], ["x"], sign)).ack.slides
    assert view.url == f"/slides/{event.id}/{view.deck}/0?sig=sig-of-{view.deck}"
