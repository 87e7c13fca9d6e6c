"""The stage: at most N cameras, N microphones and one screen share live at a time (R-SEAT-3).

Slots are reservations held by the publisher's lease holder, like seats: kept
through a reconnect inside the grace period, released when the grace period
ends, when he stops, or when he is demoted or removed.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from room import changes, keys, lifecycle, seats
from room.accounts.account import get_account
from room.changes import Audience, Change, Payload
from room.errors import Code, TribuneError, invalid
from room.events import load_event
from room.permissions import Action, can, may_stop_media_of
from room.presence import roster
from room.records import Account, Event, Person
from room.store import Store
from room.types import EventKind


class Source(StrEnum):
    CAMERA = "camera"
    MIC = "mic"
    SCREEN = "screen"


def capacity(source: Source, account: Account) -> int:
    """Presenter seats never raise these caps (R-SEAT-3); one screen share at a time. No
    add-on changes them, so they are the plan's alone (`room.accounts.limits` has them
    too, for a complete view)."""
    if source is Source.CAMERA:
        return account.plan.stage_cameras
    if source is Source.MIC:
        return account.plan.stage_mics
    return account.plan.stage_screens


def may_publish(person: Person, event: Event) -> bool:
    """Webinars: the stage people only. Meetings: everyone who may publish in a meeting."""
    action = Action.PUBLISH_IN_MEETING if event.kind is EventKind.MEETING else Action.PUBLISH
    return can(person.role, action)


async def require_may_stop(store: Store, event_id: str, actor: Person, target_id: str) -> None:
    """`forbidden` unless `actor` may stop `target_id`'s media (`media.stop_other`): never a
    protected person's (the organizer's) but by someone protected. Someone no longer in the
    roster holds no slots and needs no protection."""
    if target_id == actor.identity:
        return
    target = await roster.get_person(store, event_id, target_id)
    if target is not None and not may_stop_media_of(actor.role, target.role):
        what = f"the {actor.role.value} role may not stop a {target.role.value}'s media"
        raise TribuneError(Code.FORBIDDEN, what)


async def take(store: Store, event_id: str, person: Person, source: Source) -> list[Change]:
    """Reserve a stage slot for `person`'s `source`; `stage_full` when the cap is reached."""
    event = await load_event(store, event_id)
    lifecycle.require_open(event)
    if not may_publish(person, event):
        raise TribuneError(Code.FORBIDDEN, f"the {person.role.value} role may not publish here")
    account = await get_account(store, event.account_id)
    cap = capacity(source, account)
    hold = seats.holder(event_id, person.identity)
    pool = keys.stage_slots(event_id, source)
    if person.identity in await store.slot_members(pool):
        return []
    if not await store.slot_reserve(pool, person.identity, cap, hold):
        what = {"camera": "cameras", "mic": "microphones", "screen": "screen shares"}[source]
        raise TribuneError(
            Code.STAGE_FULL, f"the stage already has {cap} {what} on; wait until one stops"
        )
    return [await _stage_change(store, event_id)]


async def leave(store: Store, event_id: str, identity: str, source: Source) -> list[Change]:
    hold = seats.holder(event_id, identity)
    if await store.slot_release(keys.stage_slots(event_id, source), identity, hold):
        return [await _stage_change(store, event_id)]
    return []


async def leave_all(store: Store, event_id: str, identity: str) -> list[Change]:
    """Take someone off the stage entirely (demoted, removed, gone)."""
    hold = seats.holder(event_id, identity)
    freed = False
    for source in Source:
        freed |= await store.slot_release(keys.stage_slots(event_id, source), identity, hold)
    return [await _stage_change(store, event_id)] if freed else []


async def on_stage(store: Store, event_id: str) -> dict[str, list[str]]:
    """Who holds each kind of slot: {camera: [identity...], mic: [...], screen: [...]}."""
    slots = {s.value: await store.slot_members(keys.stage_slots(event_id, s)) for s in Source}
    return {source: sorted(members) for source, members in slots.items()}


class Claim:
    """The slots of one publish (what a person sends from now on): those he lacks are taken
    before the media plane accepts his offer, undone if it refuses, and those he no longer
    sends are given back once it accepts. `changes` gathers what each step recorded."""

    def __init__(self, store: Store, event_id: str, person: Person, sources: Collection[Source]):
        self.wanted = set(sources)
        if len(self.wanted) != len(sources):
            raise invalid("each source may be sent once", "sources")
        self.store = store
        self.event_id = event_id
        self.person = person
        self.held: set[Source] = set()
        self.taken: list[Source] = []
        self.changes: list[Change] = []

    async def take(self) -> None:
        """Reserve the slots he lacks; `stage_full` (and the rest taken so far kept, for
        `undo`) when a cap is reached."""
        stage = await on_stage(self.store, self.event_id)
        self.held = {Source(s) for s, people in stage.items() if self.person.identity in people}
        for source in sorted(self.wanted - self.held):
            self.changes += await take(self.store, self.event_id, self.person, source)
            self.taken.append(source)

    async def undo(self) -> None:
        for source in self.taken:
            self.changes += await leave(self.store, self.event_id, self.person.identity, source)

    async def settle(self) -> None:
        for source in self.held - self.wanted:
            self.changes += await leave(self.store, self.event_id, self.person.identity, source)


async def announce(store: Store, event_id: str) -> Change:
    """Record the stage as it is now (after leases released slots behind our back)."""
    return await _stage_change(store, event_id)


async def _stage_change(store: Store, event_id: str) -> Change:
    payload: Payload = {"stage": await on_stage(store, event_id)}
    return await changes.record(
        store, Change(event_id=event_id, name="stage.changed", payloads={Audience.ALL: payload})
    )
