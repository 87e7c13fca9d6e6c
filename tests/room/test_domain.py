"""The room domain without a server: seats, lifecycle, parallel limit, roles, hands, grace."""

from __future__ import annotations

import asyncio

import pytest

from room import events as ev
from room import live
from room.accounts.account import create_account
from room.errors import Code, TribuneError
from room.presence import admission, hands, leases, roles, roster
from room.records import Event, Invitation, Plan
from room.store import Store
from room.types import EventState, Role

TTL = 60.0


async def make(store: Store, **plan: int) -> tuple[Event, dict[Role, Invitation]]:
    account, _ = await create_account(store, "Acme", Plan(**plan))
    event = await ev.create_event(store, account, ev.EventCreate(title="T"))
    invs = {}
    for role in Role:
        invs[role] = await ev.invite(
            store, event, ev.InvitationCreate(role=role, shared=role is Role.PARTICIPANT)
        )
    return event, invs


async def refused(code: Code, coro: object) -> None:
    with pytest.raises(TribuneError) as err:
        await coro  # type: ignore[misc]
    assert err.value.code is code, err.value.message


async def test_attendee_capacity_and_the_organizers_seat(store: Store) -> None:
    _event, invs = await make(store, attendees=3)
    for i in range(3):
        await admission.admit(store, invs[Role.PARTICIPANT], f"device-{i}", "", TTL)
    await refused(
        Code.ROOM_FULL, admission.admit(store, invs[Role.PARTICIPANT], "device-x", "", TTL)
    )
    adm = await admission.admit(store, invs[Role.ORGANIZER], "org-device", "", TTL)  # never counted
    assert adm.person.role is Role.ORGANIZER
    # the same device again is the same identity: still seated, not refused
    again = await admission.admit(store, invs[Role.PARTICIPANT], "device-0", "", TTL)
    assert again.person.role is Role.PARTICIPANT


async def test_capacity_is_the_smaller_of_event_and_plan(store: Store) -> None:
    account, _ = await create_account(store, "Acme", Plan(attendees=10))
    with pytest.raises(TribuneError) as err:
        await ev.create_event(store, account, ev.EventCreate(title="T", capacity=11))
    assert err.value.field == "capacity"
    event = await ev.create_event(store, account, ev.EventCreate(title="T", capacity=2))
    inv = await ev.invite(store, event, ev.InvitationCreate(role=Role.PARTICIPANT, shared=True))
    await admission.admit(store, inv, "device-1", "", TTL)
    await admission.admit(store, inv, "device-2", "", TTL)
    await refused(Code.ROOM_FULL, admission.admit(store, inv, "device-3", "", TTL))


async def test_presenter_link_binds_to_its_first_device_until_reissued(store: Store) -> None:
    event, invs = await make(store)
    inv = invs[Role.PRESENTER]
    await admission.admit(store, inv, "laptop-1", "", TTL)
    await refused(Code.LINK_BOUND, admission.admit(store, inv, "phone-22", "", TTL))
    await admission.admit(store, inv, "laptop-1", "", TTL)  # the bound device may come back
    new = await ev.reissue(store, event, inv.id)
    assert new.gen == inv.gen + 1
    await admission.admit(store, new, "phone-22", "", TTL)


async def test_lifecycle_and_parallel_limit(store: Store) -> None:
    account, _ = await create_account(store, "Acme", Plan(parallel_events=1))
    a = await ev.create_event(store, account, ev.EventCreate(title="A"))
    b = await ev.create_event(store, account, ev.EventCreate(title="B"))
    event, changes = await live.start(store, a.id)
    assert event.state is EventState.LIVE and changes[0].name == "event.status"
    assert (await live.start(store, a.id))[1] == []  # idempotent
    await refused(Code.PARALLEL_LIMIT, live.start(store, b.id))
    await live.end(store, a.id)
    await refused(Code.CONFLICT, live.start(store, a.id))
    event, _ = await live.start(store, b.id)  # the slot was freed
    assert event.state is EventState.LIVE


async def test_concurrent_starts_respect_the_parallel_allowance(store: Store) -> None:
    account, _ = await create_account(store, "Acme", Plan(parallel_events=2))
    events = [
        await ev.create_event(store, account, ev.EventCreate(title=f"E{i}")) for i in range(6)
    ]
    results = await asyncio.gather(
        *(live.start(store, e.id) for e in events), return_exceptions=True
    )
    started = [r for r in results if not isinstance(r, BaseException)]
    refusals = [r for r in results if isinstance(r, TribuneError)]
    assert len(started) == 2
    assert all(r.code is Code.PARALLEL_LIMIT for r in refusals) and len(refusals) == 4


async def test_ended_event_refuses_new_joins(store: Store) -> None:
    event, invs = await make(store)
    await live.start(store, event.id)
    await live.end(store, event.id)
    await refused(
        Code.EVENT_ENDED, admission.admit(store, invs[Role.PARTICIPANT], "device-1", "", TTL)
    )


async def test_promote_and_demote_with_presenter_seats(store: Store) -> None:
    event, invs = await make(store, presenter_seats=2)
    await admission.admit(store, invs[Role.PRESENTER], "pres-device", "", TTL)
    a = (await admission.admit(store, invs[Role.PARTICIPANT], "device-a", "", TTL)).person
    b = (await admission.admit(store, invs[Role.PARTICIPANT], "device-b", "", TTL)).person
    person, changes = await roles.set_role(store, event.id, a.identity, Role.PRESENTER)
    assert person.role is Role.PRESENTER and changes[0].name == "role.changed"
    await refused(
        Code.PRESENTER_SEATS_FULL, roles.set_role(store, event.id, b.identity, Role.PRESENTER)
    )
    person, _ = await roles.set_role(store, event.id, a.identity, Role.PARTICIPANT)
    assert person.role is Role.PARTICIPANT
    person, _ = await roles.set_role(store, event.id, b.identity, Role.PRESENTER)
    assert person.role is Role.PRESENTER
    org = (await admission.admit(store, invs[Role.ORGANIZER], "org-device", "", TTL)).person
    await refused(
        Code.FORBIDDEN, roles.set_role(store, event.id, org.identity, Role.PARTICIPANT)
    )
    await refused(Code.NOT_FOUND, roles.set_role(store, event.id, "nobody", Role.PRESENTER))


async def test_hand_queue_is_ordered_by_time_raised(store: Store) -> None:
    event, invs = await make(store)
    people = []
    for i in range(3):
        adm = await admission.admit(store, invs[Role.PARTICIPANT], f"device-{i}", "", TTL)
        people.append(adm.person.identity)
    for ident in (people[2], people[0], people[1]):
        await hands.raise_hand(store, event.id, ident)
        await asyncio.sleep(0.002)
    assert await hands.raise_hand(store, event.id, people[2]) == []  # raising again keeps place
    order = [m for m, _ in await hands.hand_queue(store, event.id)]
    assert order == [people[2], people[0], people[1]]
    taken, _ = await hands.next_hand(store, event.id)
    assert taken is not None and taken.identity == people[2]
    await hands.lower_hand(store, event.id, people[0])
    taken, _ = await hands.next_hand(store, event.id)
    assert taken is not None and taken.identity == people[1]
    assert (await hands.next_hand(store, event.id))[0] is None


async def test_grace_keeps_everything_then_expiry_releases_it(store: Store) -> None:
    event, invs = await make(store, attendees=1)
    adm = await admission.admit(store, invs[Role.PARTICIPANT], "device-1", "", TTL)
    ident = adm.person.identity
    await leases.bind_connection(store, event.id, ident, "sid-1")
    await hands.raise_hand(store, event.id, ident)
    changes = await leases.disconnected(store, event.id, ident, "sid-1", grace=0.2)
    assert changes[0].name == "roster.updated"
    assert (await roster.get_person(store, event.id, ident)).connected is False  # type: ignore[union-attr]
    # within grace, the seat is still his: nobody else fits
    await refused(
        Code.ROOM_FULL, admission.admit(store, invs[Role.PARTICIPANT], "device-2", "", TTL)
    )
    await asyncio.sleep(0.3)
    changes = await leases.expire(store)
    assert {c.name for c in changes} == {"roster.left", "hand.queue"}
    assert await roster.get_person(store, event.id, ident) is None
    await admission.admit(store, invs[Role.PARTICIPANT], "device-2", "", TTL)


async def test_an_old_connection_closing_does_not_start_grace(store: Store) -> None:
    event, invs = await make(store)
    adm = await admission.admit(store, invs[Role.PARTICIPANT], "device-1", "", TTL)
    ident = adm.person.identity
    assert await leases.bind_connection(store, event.id, ident, "old") is None
    assert await leases.bind_connection(store, event.id, ident, "new") == "old"
    assert await leases.disconnected(store, event.id, ident, "old", grace=0.0) == []
    person = await roster.get_person(store, event.id, ident)
    assert person is not None and person.connected


async def test_remove_and_ban(store: Store) -> None:
    event, invs = await make(store)
    adm = await admission.admit(store, invs[Role.PARTICIPANT], "device-1", "", TTL)
    _sid, changes = await admission.remove(store, event.id, adm.person.identity, ban=True)
    assert [c.name for c in changes] == ["roster.left"]
    await refused(Code.BANNED, admission.admit(store, invs[Role.PARTICIPANT], "device-1", "", TTL))
    org = (await admission.admit(store, invs[Role.ORGANIZER], "org-device", "", TTL)).person
    await refused(Code.FORBIDDEN, admission.remove(store, event.id, org.identity, ban=False))


async def test_revisions_increase_and_audiences_differ(store: Store) -> None:
    _event, invs = await make(store)
    a = await admission.admit(store, invs[Role.PARTICIPANT], "device-1", "", TTL)
    b = await admission.admit(store, invs[Role.PRESENTER], "pres-device", "", TTL)
    ra, rb = a.changes[0].rev, b.changes[0].rev
    assert rb == ra + 1
    from room.changes import Audience

    # a participant joining is told to staff only; a presenter joining, to everyone
    assert Audience.AUDIENCE not in a.changes[0].payloads
    assert Audience.AUDIENCE in b.changes[0].payloads


async def test_access_modes_gate_shared_participant_links(store: Store) -> None:
    from room.audience import access
    from room.types import AccessMode

    account, _ = await create_account(store, "Acme", Plan())
    for mode in (AccessMode.REGISTRATION, AccessMode.ACCESS_LIST):
        event = await ev.create_event(store, account, ev.EventCreate(title="T", access_mode=mode))
        shared = await ev.invite(store, event, ev.InvitationCreate(role=Role.PARTICIPANT, shared=True))
        await refused(Code.FORBIDDEN, admission.admit(store, shared, "device-1", "", TTL))
        personal = await ev.invite(store, event, ev.InvitationCreate(role=Role.PARTICIPANT, email="a@b.c"))
        await admission.admit(store, personal, "device-2", "", TTL)
        direct = await access.set_direct_link(store, event, True, "org")
        assert direct is not None
        await admission.admit(store, direct, "device-3", "", TTL)
        await access.set_direct_link(store, event, False, "org")
        with pytest.raises(TribuneError) as err:  # what the hub looks up before admitting
            await ev.load_invitation(store, event.id, direct.id)
        assert err.value.code is Code.NOT_FOUND
