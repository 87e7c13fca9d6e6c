"""Deleting an event's data: the moderation keys it owns, found in the store, and the one
purge of everything the event left (room core, audience and moderation keys).

It lives here because moderation is the only domain package that may see all three
(the room core may import neither the audience nor moderation)."""

from __future__ import annotations

from collections.abc import Iterable

from moderation import keys, slides
from moderation.items import Question
from room import retention
from room.audience import certificates, sessions
from room.records import decode
from room.store import Store


async def owned_keys(store: Store, event_id: str, identities: Iterable[str]) -> list[str]:
    """Every moderation key of the event: `identities` (and every asker and poll voter)
    name the per-person keys; the polls and the current deck are read from the store."""
    people = set(identities)
    for raw in (await store.hgetall(keys.questions(event_id))).values():
        people.add(decode(raw, Question).author)
    poll_ids = list(await store.hgetall(keys.polls(event_id)))
    for poll_id in poll_ids:
        people |= set(await store.hgetall(keys.ballots(event_id, poll_id)))
    deck, _ = await slides.state(store, event_id)
    return keys.event_keys(
        event_id,
        identities=sorted(people),
        poll_ids=poll_ids,
        deck_ids=[] if deck is None else [deck.id],
    )


async def purge(store: Store, event_id: str) -> None:
    """Delete every key a deleted event left: its people's seats and slots, the room's,
    the audience's (sessions, certificate images) and moderation's keys."""
    people = await sessions.identities(store, event_id)
    owned = await owned_keys(store, event_id, people) + certificates.image_keys(event_id)
    await retention.purge_event(store, event_id, people, owned)
