"""Stage slots: 8 cameras, 8 mics, one screen share; who may publish; grace and release."""

from __future__ import annotations

import asyncio

import pytest

from room import events as ev
from room import stage
from room.accounts.account import create_account
from room.errors import Code, TribuneError
from room.presence import admission, leases
from room.records import Person, Plan
from room.stage import Source
from room.store import Store
from room.types import EventKind, Role


async def setup(store: Store, kind: EventKind = EventKind.WEBINAR, **plan: int):
    account, _ = await create_account(store, "Acme", Plan(**plan))
    event = await ev.create_event(store, account, ev.EventCreate(title="T", kind=kind))
    inv = await ev.invite(store, event, ev.InvitationCreate(role=Role.PRESENTER, shared=True))
    part = await ev.invite(store, event, ev.InvitationCreate(role=Role.PARTICIPANT, shared=True))
    return event, inv, part


async def test_ninth_camera_is_refused_until_one_stops(store: Store) -> None:
    event, inv, _ = await setup(store, presenter_seats=20)
    people = [
        (await admission.admit(store, inv, f"device-{i:02d}", "", 60)).person for i in range(9)
    ]
    results = await asyncio.gather(
        *(stage.take(store, event.id, p, Source.CAMERA) for p in people), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, TribuneError)]
    assert len(refused) == 1 and refused[0].code is Code.STAGE_FULL
    late = next(p for p, r in zip(people, results, strict=True) if isinstance(r, TribuneError))
    for p in people:  # mics are a separate cap of 8
        if p is not late:
            await stage.take(store, event.id, p, Source.MIC)
    first = next(p for p in people if p is not late)
    assert (await stage.leave(store, event.id, first.identity, Source.CAMERA))[
        0
    ].name == "stage.changed"
    await stage.take(store, event.id, late, Source.CAMERA)
    assert len((await stage.on_stage(store, event.id))["camera"]) == 8


async def test_one_screen_share_at_a_time(store: Store) -> None:
    event, inv, _ = await setup(store)
    a = (await admission.admit(store, inv, "device-aa", "", 60)).person
    b = (await admission.admit(store, inv, "device-bb", "", 60)).person
    await stage.take(store, event.id, a, Source.SCREEN)
    assert await stage.take(store, event.id, a, Source.SCREEN) == []  # already his
    with pytest.raises(TribuneError) as err:
        await stage.take(store, event.id, b, Source.SCREEN)
    assert err.value.code is Code.STAGE_FULL


async def test_participants_publish_in_meetings_only(store: Store) -> None:
    for kind, allowed in ((EventKind.WEBINAR, False), (EventKind.MEETING, True)):
        event, _, part = await setup(store, kind)
        p = (await admission.admit(store, part, "device-pp", "", 60)).person
        if allowed:
            await stage.take(store, event.id, p, Source.CAMERA)
        else:
            with pytest.raises(TribuneError) as err:
                await stage.take(store, event.id, p, Source.CAMERA)
            assert err.value.code is Code.FORBIDDEN


async def test_slots_are_released_with_the_lease(store: Store) -> None:
    event, inv, _ = await setup(store, stage_cameras=1)
    a = (await admission.admit(store, inv, "device-aa", "", 60)).person
    await stage.take(store, event.id, a, Source.CAMERA)
    await leases.bind_connection(store, event.id, a.identity, "sid")
    await leases.disconnected(store, event.id, a.identity, "sid", grace=0.1)
    assert (await stage.on_stage(store, event.id))["camera"] == [a.identity]  # kept in grace
    await asyncio.sleep(0.2)
    await leases.expire(store)
    assert (await stage.on_stage(store, event.id))["camera"] == []
    b = Person(identity="b", name="B", role=Role.PRESENTER, base_role=Role.PRESENTER)
    await stage.take(store, event.id, b, Source.CAMERA)
    assert (await stage.leave_all(store, event.id, "b"))[0].name == "stage.changed"
    assert await stage.leave_all(store, event.id, "b") == []
