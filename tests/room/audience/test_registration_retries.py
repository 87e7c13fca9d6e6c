"""A registration sent again with its client id answers the first one (no `conflict`, no
second registration, invitation or list entry), also when 200 tries arrive at once."""

from __future__ import annotations

import asyncio

import pytest

from room import client_ids, keys
from room import events as ev
from room.audience import registration as reg
from room.errors import TribuneError
from tests.room.audience.test_registration import form, make_event


def with_cid(cid: str, **kw):
    f = form(**kw)
    f.cid = cid
    return f


async def test_a_retry_answers_the_first_registration(store):
    event = await make_event(store)
    first, inv = await reg.register(store, event, with_cid("r-1"))
    again, inv2 = await reg.register(store, event, with_cid("r-1", email=" ANN@example.org"))
    assert (again, inv2) == (first, inv)
    for other in (form(), with_cid("r-2")):  # without the cid, or another: one per e-mail
        with pytest.raises(TribuneError) as err:
            await reg.register(store, event, other)
        assert err.value.code == "conflict"
    assert [r.id for r in await reg.all_registrations(store, event.id)] == [first.id]
    assert [i.id for i in await ev.list_invitations(store, event.id)] == [inv.id]


async def test_200_simultaneous_retries_make_one_registration(store):
    event = await make_event(store)
    results = await asyncio.gather(
        *(reg.register(store, event, with_cid("same")) for _ in range(200)),
        return_exceptions=True,
    )
    assert not [r for r in results if isinstance(r, BaseException)], results[:3]
    assert len({r.id for r, _ in results}) == 1 and len({i.id for _, i in results}) == 1
    listed = await reg.all_registrations(store, event.id)
    assert [r.id for r in listed] == [results[0][0].id]
    assert [i.id for i in await ev.list_invitations(store, event.id)] == [results[0][1].id]


async def test_a_retry_after_a_first_try_died_registers_under_the_reserved_id(store):
    event = await make_event(store)
    # the first try listed and reserved its id, then its node died before writing
    order = keys.registration_order(event.id)
    await store.rpush(order, b"ann@example.org\nreg_kept")
    await client_ids.claim(
        store, keys.registration_cids(event.id), "lost", "ann@example.org", "reg_kept"
    )
    r, _ = await reg.register(store, event, with_cid("lost"))
    assert r.id == "reg_kept"
    assert [x.id for x in await reg.all_registrations(store, event.id)] == ["reg_kept"]
