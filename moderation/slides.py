"""Slides, the director (R-DIR): an event's deck of images and the slide everyone is on.

The deck's images live in the store under the deck's random id (a new upload is a
new deck; the old one's images are deleted). The position names the deck, so a
late joiner's snapshot and every `slides.changed` say exactly which image to show.

Who may see which image (`readable`): those who may drive the slides see every
page; anyone else of the event only pages already shown (up to the position's
`furthest`). The image links carry the deck's signature (`?sig=`, signed at the
edge when the deck is uploaded), which stands for "someone the event handed
this deck's position to"; the edge checks it, this module applies the rule.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec

from moderation import audit, keys
from moderation.items import Deck, SlidePosition
from moderation.outcome import Outcome
from room import changes
from room.changes import Audience, Change
from room.errors import Code, TribuneError, invalid, not_found
from room.permissions import Action, can
from room.records import Person, new_id, now, to_wire
from room.store import Store
from room.types import Role

_enc = msgspec.msgpack.Encoder()
_deck = msgspec.msgpack.Decoder(Deck)
_pos = msgspec.msgpack.Decoder(SlidePosition)

DECK = "deck"
POSITION = "position"


Signer = Callable[[str], Awaitable[str]]
"""Signs the image links of a new deck, given its id (the edge's one signer)."""


def image_path(event_id: str, deck_id: str, index: int, sig: str = "") -> str:
    """Where a page fetches a slide image: the deck's signed link when it has a signature."""
    path = f"/slides/{event_id}/{deck_id}/{index}"
    return f"{path}?sig={sig}" if sig else path


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
    return SlidesView(
        deck.id, deck.count, index, image_path(event_id, deck.id, index, deck.sig), by
    )


class SlidesAck(msgspec.Struct):
    slides: SlidesView | None


async def current_view(store: Store, event_id: str) -> SlidesView | None:
    return view(event_id, *await state(store, event_id))


def sees_every_page(role: Role | None) -> bool:
    """Whether someone of `role` may fetch slides not shown yet (None: a signed link only)."""
    return role is not None and can(role, Action.DRIVE_SLIDES)


async def readable(
    store: Store, event_id: str, deck_id: str, index: int, role: Role | None
) -> None:
    """Refuse (`forbidden`) a slide the asker may not see yet: for anyone who may not drive
    the slides, a page of the current deck beyond the furthest one shown so far."""
    if sees_every_page(role):
        return
    deck, pos = await state(store, event_id)
    if deck is None or deck.id != deck_id:
        raise not_found("slide")
    if pos is None or index > max(pos.index, pos.furthest):
        raise TribuneError(Code.FORBIDDEN, "this slide has not been shown yet")


async def image(
    store: Store, event_id: str, deck_id: str, index: int, role: Role | None = None
) -> bytes:
    """A slide image, if the asker may see it (`readable`); `role` None for a signed link."""
    await readable(store, event_id, deck_id, index, role)
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
    store: Store,
    event_id: str,
    who: Person,
    images: list[bytes],
    names: list[str],
    sign: Signer | None = None,
) -> Outcome:
    """Install a new deck (already rendered to images) and go to its first slide.
    `sign`: signs the deck's image links (without it, only a Bearer link reads them)."""
    if not images:
        raise invalid("a deck needs at least one slide", "file")
    deck_id = new_id("deck")
    deck = Deck(
        id=deck_id, count=len(images), names=names, uploaded_at=now(), uploaded_by=who.name,
        sig="" if sign is None else await sign(deck_id),
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
        furthest = index
        if old is not None and old.deck == deck.id:
            furthest = max(index, old.index, old.furthest)
        pos = SlidePosition(deck=deck.id, index=index, at=now(), by=who.name, furthest=furthest)
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
