"""Fixtures for the moderation domain: an event in a real store and the people acting in it."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import msgspec
import pytest

from room import events as ev
from room import keys
from room.accounts.account import create_account
from room.records import Event, Person, Plan, encode, now
from room.store import Store
from room.types import Role

_ids = itertools.count(1)


@pytest.fixture
async def event(store: Store) -> Event:
    account, _ = await create_account(store, "Acme", Plan(attendees=1000))
    return await ev.create_event(store, account, ev.EventCreate(title="Moderated webinar"))


PersonFactory = Callable[..., Person]


def person(role: Role | str = Role.PARTICIPANT, name: str | None = None) -> Person:
    role = Role(role)
    n = next(_ids)
    return Person(
        identity=f"{role.value}-{n}", name=name or f"{role.value.title()} {n}", role=role,
        base_role=role, joined_at=now(),
    )


async def seat(store: Store, event: Event, p: Person) -> Person:
    """Put a person in the event's roster (as joining would)."""
    await store.hset(keys.roster(event.id), p.identity, encode(p))
    return p


async def set_visibility(store: Store, event: Event, visibility: str) -> None:
    """Store the setting in the event's msgpack map as it is, as versions before typed
    settings did, so that a value of no `Visibility` can be stored too."""
    raw = await store.hget(keys.EVENTS, event.id)
    assert raw is not None
    stored = msgspec.msgpack.decode(raw)
    stored["settings"]["question_visibility"] = visibility
    await store.hset(keys.EVENTS, event.id, msgspec.msgpack.encode(stored))
