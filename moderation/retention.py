"""The moderation keys one event owns, found in the store, for deleting the event
(`room.retention.purge_event`)."""

from __future__ import annotations

from collections.abc import Iterable

from moderation import keys, slides
from moderation.items import Question
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
