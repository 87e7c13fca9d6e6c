"""The credits plan in the domain: prices, purchases, clients, allocations, the ledger, and
consumption at registration (never below zero, once per registration), on both stores."""

from __future__ import annotations

import asyncio

import pytest

from room import credit_ledger, keys
from room import events as ev
from room.accounts import credits
from room.accounts.account import create_account, get_account
from room.accounts.biller import InvoiceOnly
from room.audience import registration as reg
from room.credit_ledger import OWN_CLIENT, EntryKind
from room.errors import TribuneError
from room.records import Plan
from room.store import Store
from room.types import AccessMode

T = 1_800_000_000.0


async def account_id(store: Store) -> str:
    account, _ = await create_account(store, "Acme", Plan(attendees=1000))
    return account.id


async def refused(code: str, call) -> TribuneError:
    with pytest.raises(TribuneError) as err:
        await call
    assert err.value.code == code, err.value.message
    return err.value


async def snapshot(store: Store, acc: str):
    return (
        await store.hgetall(keys.credit_balances(acc)),
        await store.hgetall(keys.credit_clients(acc)),
        await store.lrange(keys.credit_ledger(acc)),
    )


def test_the_unit_price_is_the_highest_tier_the_count_reaches():
    # the embedded price list: 1+ at 50 cents, 500+ at 40, 5000+ at 30 (prices.toml)
    assert credits.quote(1).total_cents == 50
    assert credits.quote(499).total_cents == 499 * 50
    assert (credits.quote(500).unit_cents, credits.quote(500).total_cents) == (40, 20_000)
    assert credits.quote(4999).unit_cents == 40
    assert (credits.quote(5000).unit_cents, credits.quote(5000).total_cents) == (30, 150_000)
    assert credits.quote(120).currency == "EUR"


async def buy(store: Store, acc: str, count: int):  # type: ignore[no-untyped-def]
    """Buy credits (an invoice is issued with each purchase)."""
    account = await get_account(store, acc)
    bought, pool, invoice = await credits.purchase(store, InvoiceOnly(), account, count, T)
    assert invoice.total_cents == bought.total_cents and bought.invoice_id == invoice.id
    return bought, pool


async def test_the_ledger_of_a_purchase_an_allocation_and_registrations(store: Store):
    acc = await account_id(store)
    bought, pool = await buy(store, acc, 600)
    assert (bought.credits, bought.unit_cents, bought.total_cents, pool) == (600, 40, 24_000, 600)
    clients = await credits.list_clients(store, acc, T)
    assert [(c.id, c.own, c.balance) for c in clients] == [(OWN_CLIENT, True, 0)]  # made at once
    beta = await credits.create_client(store, acc, "  Beta Corp ", T + 1)
    assert (beta.name, beta.balance) == ("Beta Corp", 0)
    entry, after = await credits.allocate(
        store, acc, beta.id, 120, T + 2, reference="PO-7", comment="20 learners"
    )
    assert (entry.kind, entry.credits, entry.reference, entry.comment) == (
        EntryKind.ALLOCATION, 120, "PO-7", "20 learners"
    )  # fmt: skip
    assert after.balance == 120
    await credits.allocate(store, acc, OWN_CLIENT, 30, T + 3)
    account = await _account(store, acc)
    event = await ev.create_event(
        store,
        account,
        ev.EventCreate(title="Course", access_mode=AccessMode.REGISTRATION, client_id=beta.id),
    )
    assert (event.client_id, event.credit_cost) == (beta.id, 6)
    for i in range(3):
        await reg.register(store, event, reg.RegistrationForm(email=f"p{i}@x.org", name="P"))
    b = await credits.balances(store, acc, T)
    assert b.unallocated == 450
    assert {c.id: (c.balance, c.used) for c in b.clients} == {
        OWN_CLIENT: (30, 0),
        beta.id: (102, 18),
    }
    whole = await credits.ledger(store, acc)
    assert [e.kind for e in whole] == ["purchase", "allocation", "allocation", *["consumption"] * 3]
    assert whole[0].total_cents == 24_000
    mine = await credits.ledger(store, acc, beta.id)
    assert [(e.kind, e.credits) for e in mine] == [("allocation", 120), *[("consumption", 6)] * 3]
    assert {e.email for e in mine[1:]} == {"p0@x.org", "p1@x.org", "p2@x.org"}
    assert all(e.event_id == event.id and e.registration_id for e in mine[1:])


async def _account(store: Store, acc: str):
    return await get_account(store, acc)


async def test_bad_input_changes_nothing(store: Store):
    acc = await account_id(store)
    await buy(store, acc, 10)
    beta = await credits.create_client(store, acc, "Beta", T)
    before = await snapshot(store, acc)
    for bad in (0, -5, credits.MAX_CREDITS + 1, 10**30):
        await refused("invalid", buy(store, acc, bad))
        await refused("invalid", credits.allocate(store, acc, beta.id, bad, T))
    await refused("conflict", credits.allocate(store, acc, beta.id, 11, T))  # the pool holds 10
    await refused("not_found", credits.allocate(store, acc, "cli_nobody", 1, T))
    await refused("invalid", credits.allocate(store, acc, beta.id, 1, T, reference="r" * 201))
    await refused("invalid", credits.create_client(store, acc, "   ", T))
    assert await snapshot(store, acc) == before
    account = await _account(store, acc)
    err = await refused(
        "invalid", ev.create_event(store, account, ev.EventCreate(title="x", client_id="cli_no"))
    )
    assert err.field == "client_id"


async def test_allocated_credits_stay_with_their_client(store: Store):
    acc = await account_id(store)
    await buy(store, acc, 10)
    a = await credits.create_client(store, acc, "A", T)
    b = await credits.create_client(store, acc, "B", T)
    await credits.allocate(store, acc, a.id, 10, T)
    await refused("conflict", credits.allocate(store, acc, b.id, 1, T))  # nothing left to give
    assert (await credits.get_client(store, acc, a.id, T)).balance == 10
    assert (await credits.get_client(store, acc, b.id, T)).balance == 0


async def registration_event(store: Store, balance: int, cost: int = 6):
    acc = await account_id(store)
    account = await _account(store, acc)
    await buy(store, acc, balance)
    if balance:
        await credits.allocate(store, acc, OWN_CLIENT, balance, T)
    event = await ev.create_event(
        store,
        account,
        ev.EventCreate(
            title="Course",
            access_mode=AccessMode.REGISTRATION,
            client_id=OWN_CLIENT,
            credit_cost=cost,
        ),
    )
    return acc, event


async def test_50_concurrent_registrations_against_a_balance_for_20_register_exactly_20(
    store: Store,
):
    acc, event = await registration_event(store, 20 * 6)
    results = await asyncio.gather(
        *(
            reg.register(store, event, reg.RegistrationForm(email=f"p{i}@x.org", name="P"))
            for i in range(50)
        ),
        return_exceptions=True,
    )
    done = [r for r in results if not isinstance(r, BaseException)]
    failed = [r for r in results if isinstance(r, BaseException)]
    assert len(done) == 20
    assert {getattr(e, "code", e) for e in failed} == {"insufficient_credits"}
    assert await reg.count(store, event.id) == 20
    assert len(await reg.all_registrations(store, event.id)) == 20
    own = await credits.get_client(store, acc, OWN_CLIENT, T)
    assert (own.balance, own.used) == (0, 120)
    used = [e for e in await credits.ledger(store, acc) if e.kind is EntryKind.CONSUMPTION]
    assert sorted(e.email for e in used) == sorted(r.email for r, _ in done)
    assert len(await ev.list_invitations(store, event.id)) == 20  # no link for the refused


async def test_a_refused_registration_says_why_and_a_retry_consumes_once(store: Store):
    acc, event = await registration_event(store, 6)
    form = reg.RegistrationForm(email="ann@x.org", name="Ann", cid="try-1")
    first, _ = await reg.register(store, event, form)
    again, _ = await reg.register(store, event, form)  # its answer was lost: sent again
    assert again.id == first.id
    err = await refused(
        "insufficient_credits",
        reg.register(store, event, reg.RegistrationForm(email="bob@x.org", name="Bob")),
    )
    assert "contact the organizer" in err.message
    assert await credit_ledger.credits_low(store, event) == (True, 0)
    kinds = [e.kind for e in await credits.ledger(store, acc)]
    assert kinds == ["purchase", "allocation", "consumption"]


async def test_simultaneous_tries_of_one_registration_are_charged_once(store: Store):
    acc, event = await registration_event(store, 60)
    form = reg.RegistrationForm(email="ann@x.org", name="Ann", cid="same")
    results = await asyncio.gather(*(reg.register(store, event, form) for _ in range(20)))
    assert len({r.id for r, _ in results}) == 1
    own = await credits.get_client(store, acc, OWN_CLIENT, T)
    assert (own.balance, own.used) == (54, 6)
    assert [e.kind for e in await credits.ledger(store, acc)][-1:] == ["consumption"]


async def test_simultaneous_registrations_of_one_email_are_charged_once(store: Store):
    acc, event = await registration_event(store, 60)
    results = await asyncio.gather(
        *(
            reg.register(store, event, reg.RegistrationForm(email="a@x.org", name="A", cid=f"c{i}"))
            for i in range(20)
        ),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert {r.code for r in results if isinstance(r, TribuneError)} == {"conflict"}
    own = await credits.get_client(store, acc, OWN_CLIENT, T)
    assert (own.balance, own.used) == (54, 6)
    entries = await credits.ledger(store, acc, OWN_CLIENT)
    assert [e.kind for e in entries] == ["allocation", "consumption"]


async def test_an_event_of_no_client_consumes_nothing(store: Store):
    acc = await account_id(store)
    event = await ev.create_event(
        store,
        await _account(store, acc),
        ev.EventCreate(title="Free", access_mode=AccessMode.REGISTRATION),
    )
    await reg.register(store, event, reg.RegistrationForm(email="a@x.org", name="A"))
    assert await credits.ledger(store, acc) == []
    assert await credit_ledger.credits_low(store, event) == (False, None)
