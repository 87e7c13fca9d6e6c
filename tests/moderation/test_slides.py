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
    with pytest.raises(TribuneError) as err:
        render.render([png(size=(3000, 3000))], Limits(slide_max_pixels=1_000_000))
    assert err.value.code is Code.INVALID


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
