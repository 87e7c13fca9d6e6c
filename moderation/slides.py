"""Slides, the director (R-DIR): an event's deck of images and the slide everyone is on.

The deck's images live in the store under the deck's random id (a new upload is a
new deck; the old one's images are deleted). The position names the deck, so a
late joiner's snapshot and every `slides.changed` say exactly which image to show.
"""

from __future__ import annotations

import msgspec

from moderation import audit, keys
from moderation.items import Deck, SlidePosition
from moderation.outcome import Outcome
from room import changes
from room.changes import Audience, Change
from room.errors import Code, TribuneError, invalid, not_found
from room.records import Person, new_id, now, to_wire
from room.store import Store

_enc = msgspec.msgpack.Encoder()
_deck = msgspec.msgpack.Decoder(Deck)
_pos = msgspec.msgpack.Decoder(SlidePosition)

DECK = "deck"
POSITION = "position"


def image_path(event_id: str, deck_id: str, index: int) -> str:
    """Where a page fetches a slide image (the deck id makes the URL unguessable)."""
    return f"/slides/{event_id}/{deck_id}/{index}"


async def state(store: Store, event_id: str) -> tuple[Deck | None, SlidePosition | None]:
    deck_raw, pos_raw = await store.hmget(keys.slides(event_id), [DECK, POSITION])
    deck = None if deck_raw is None else _deck.decode(deck_raw)
    pos = None if pos_raw is None else _pos.decode(pos_raw)
    if deck is None or pos is None or pos.deck != deck.id:
        return deck, None
    return deck, pos


class SlidesView(msgspec.Struct):
    """The slide everyone is on."""

    deck: str
    count: int
    index: int
    url: str
    by: str
    """Who moved to it (or uploaded the deck)."""


def view(event_id: str, deck: Deck | None, pos: SlidePosition | None) -> SlidesView | None:
    if deck is None:
        return None
    index = pos.index if pos is not None else 0
    by = pos.by if pos is not None else deck.uploaded_by
    return SlidesView(deck.id, deck.count, index, image_path(event_id, deck.id, index), by)


class SlidesAck(msgspec.Struct):
    slides: SlidesView | None


async def current_view(store: Store, event_id: str) -> SlidesView | None:
    return view(event_id, *await state(store, event_id))


async def image(store: Store, event_id: str, deck_id: str, index: int) -> bytes:
    raw = await store.hget(keys.slide_images(event_id, deck_id), str(index))
    if raw is None:
        raise not_found("slide")
    return raw


async def _changed(store: Store, event_id: str, slides: SlidesView | None) -> Change:
    return await changes.record(
        store,
        Change(
            event_id=event_id,
            name="slides.changed",
            payloads={
                Audience.STAFF: {"slides": to_wire(slides)},
                Audience.AUDIENCE: {"slides": to_wire(slides)},
            },
        ),
    )


async def replace_deck(
    store: Store, event_id: str, who: Person, images: list[bytes], names: list[str]
) -> Outcome:
    """Install a new deck (already rendered to images) and go to its first slide."""
    if not images:
        raise invalid("a deck needs at least one slide", "file")
    deck = Deck(
        id=new_id("deck"), count=len(images), names=names, uploaded_at=now(), uploaded_by=who.name
    )
    for i, img in enumerate(images):
        await store.hset(keys.slide_images(event_id, deck.id), str(i), img)
    old = await store.hswap(keys.slides(event_id), DECK, _enc.encode(deck))
    pos = SlidePosition(deck=deck.id, index=0, at=now(), by=who.name)
    await store.hset(keys.slides(event_id), POSITION, _enc.encode(pos))
    before = None
    if old is not None:
        old_deck = _deck.decode(old)
        await store.delete(keys.slide_images(event_id, old_deck.id))
        before = {"deck": old_deck.id, "count": old_deck.count, "names": old_deck.names}
    await audit.record(store, event_id, who, "slides.upload", f"deck:{deck.id}", before, {
        "deck": deck.id, "count": deck.count, "names": names
    })
    v = view(event_id, deck, pos)
    return Outcome(changes=[await _changed(store, event_id, v)], ack=SlidesAck(v))


async def goto(store: Store, event_id: str, who: Person, index: int) -> Outcome:
    """Move everyone to slide `index` of the current deck."""
    for _ in range(100):
        raw_deck, raw_pos = await store.hmget(keys.slides(event_id), [DECK, POSITION])
        if raw_deck is None:
            raise not_found("slide deck")
        deck = _deck.decode(raw_deck)
        if not 0 <= index < deck.count:
            raise invalid(f"slides are numbered 0 to {deck.count - 1}", "index")
        old = None if raw_pos is None else _pos.decode(raw_pos)
        if old is not None and old.deck == deck.id and old.index == index:
            return Outcome(ack=SlidesAck(view(event_id, deck, old)))
        pos = SlidePosition(deck=deck.id, index=index, at=now(), by=who.name)
        if await store.hcas(keys.slides(event_id), POSITION, raw_pos, _enc.encode(pos)):
            break
    else:
        raise TribuneError(Code.CONFLICT, "the slides are being moved too often")
    await audit.record(
        store, event_id, who, "slides.goto", f"deck:{deck.id}",
        None if old is None else {"index": old.index}, {"index": index},
    )
    v = view(event_id, deck, pos)
    return Outcome(changes=[await _changed(store, event_id, v)], ack=SlidesAck(v))


async def clear(store: Store, event_id: str, who: Person) -> Outcome:
    """Take the deck down (its images are deleted)."""
    deck, _ = await state(store, event_id)
    if deck is None:
        return Outcome(ack=SlidesAck(None))
    if not await store.hcas(keys.slides(event_id), DECK, _enc.encode(deck), None):
        raise TribuneError(Code.CONFLICT, "the slides changed meanwhile; try again")
    await store.hdel(keys.slides(event_id), POSITION)
    await store.delete(keys.slide_images(event_id, deck.id))
    await audit.record(store, event_id, who, "slides.clear", f"deck:{deck.id}",
                       {"deck": deck.id, "count": deck.count}, None)
    return Outcome(changes=[await _changed(store, event_id, None)], ack=SlidesAck(None))
