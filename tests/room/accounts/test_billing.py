"""Plans, cycles, add-ons, renewal and invoices in the domain (issue 11), on both stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from room import events as ev
from room import keys
from room.accounts import addons, invoices, plans, renewal
from room.accounts.account import create_account, get_account
from room.accounts.biller import InvoiceOnly
from room.accounts.clock import DAY
from room.accounts.limits import limits
from room.accounts.prices import (
    credit_tiers,
    credit_unit_cents,
    default_prices,
    load_prices,
)
from room.errors import TribuneError
from room.records import Account, Cycle, Plan
from room.store import Store

PRICES = default_prices()
BILLER = InvoiceOnly()
T0 = 1_800_000_000.0


async def account(store: Store, cycle: Cycle = Cycle.MONTHLY, **plan: object) -> Account:
    acc, _ = await create_account(store, "Acme", Plan(**plan), cycle)  # type: ignore[arg-type]
    return acc


def at(acc: Account, days: float) -> float:
    return plans.cycle_start(acc) + days * DAY


# -- proration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cycle", "price", "days", "want_remaining", "want_cents"),
    [
        # monthly (30 days): the first instant, a middle day, the last day
        (Cycle.MONTHLY, 3000, 0.0, 30, 3000),
        (Cycle.MONTHLY, 3000, 0.5, 30, 3000),  # the first day, started: still whole
        (Cycle.MONTHLY, 3000, 14.5, 16, 1600),
        (Cycle.MONTHLY, 3000, 29.5, 1, 100),
        (Cycle.MONTHLY, 1000, 29.99, 1, 33),  # 33.33 -> 33
        # annual (365 days)
        (Cycle.ANNUAL, 9000, 0.0, 365, 9000),
        (Cycle.ANNUAL, 9000, 182.25, 183, 4512),  # 4512.33 -> 4512
        (Cycle.ANNUAL, 9000, 364.5, 1, 25),  # 24.66 -> 25
    ],
)
async def test_proration_on_the_first_a_middle_and_the_last_day(
    store: Store, cycle: Cycle, price: int, days: float, want_remaining: int, want_cents: int
) -> None:
    acc = await account(store, cycle)
    now = at(acc, days)
    assert plans.remaining_days(acc, now) == want_remaining
    assert plans.charged_now(acc, price, now) == want_cents


def test_proration_rounds_halves_up() -> None:
    assert plans.prorate(15, 1, 30) == 1  # 0.5
    assert plans.prorate(45, 1, 30) == 2  # 1.5
    assert plans.prorate(44, 1, 30) == 1  # 1.4666
    assert plans.prorate(0, 12, 30) == 0


@pytest.mark.parametrize("cycle", [Cycle.MONTHLY, Cycle.ANNUAL])
async def test_a_purchase_charges_the_prorated_price_and_renews_at_the_cycle_end(
    store: Store, cycle: Cycle
) -> None:
    acc = await account(store, cycle)
    days = plans.CYCLE_DAYS[cycle]
    unit = PRICES.unit_price(addons.AddOnKind.PRESENTER_SEATS, cycle)
    for offset, remaining in ((0.0, days), (days / 2 - 0.5, days // 2 + 1), (days - 0.25, 1)):
        addon, invoice = await addons.buy(
            store, BILLER, acc, PRICES, "presenter_seats", 3, at(acc, offset)
        )
        assert addon.price_cycle_cents == 3 * unit
        assert addon.charged_now_cents == plans.prorate(3 * unit, remaining, days)
        assert addon.renews_at == plans.cycle_end(acc)
        assert invoice.total_cents == addon.charged_now_cents
        assert invoice.status is invoices.InvoiceStatus.DUE


# -- renewal and cancelling ----------------------------------------------------------------------


async def test_renewal_invoices_the_active_add_ons_and_removes_the_cancelled(
    store: Store,
) -> None:
    acc = await account(store, presenter_seats=4, parallel_events=1)
    now = at(acc, 10)
    seats, first = await addons.buy(store, BILLER, acc, PRICES, "presenter_seats", 2, now)
    parallel, second = await addons.buy(store, BILLER, acc, PRICES, "parallel_events", 1, now)
    assert (first.number, second.number) == (1, 2)  # one sequence
    cancelled = await addons.cancel(store, acc, parallel.id)
    assert cancelled.status is addons.AddOnStatus.CANCELLED
    assert cancelled.ends_at == plans.cycle_end(acc) and cancelled.renews_at is None

    # until the cycle end, the cancelled batch is still in effect
    end = plans.cycle_end(acc)
    assert await renewal.renew(store, BILLER, PRICES, acc.id, end - 1) is None
    lim = await limits(store, acc.id, end - 1)
    assert (lim.presenter_seats, lim.parallel_events) == (6, 2)

    invoice = await renewal.renew(store, BILLER, PRICES, acc.id, end + 60)
    assert invoice is not None and invoice.number == 3
    assert invoice.reason is invoices.Reason.RENEWAL
    assert [(line.kind, line.quantity) for line in invoice.lines] == [("presenter_seats", 2)]
    assert invoice.total_cents == seats.price_cycle_cents
    assert (invoice.period_start, invoice.period_end) == (end, end + 30 * DAY)
    # the cancelled batch is gone, the active one renews at the next cycle end
    held = await addons.list_addons(store, acc.id)
    assert [(a.id, a.renews_at) for a in held] == [(seats.id, end + 30 * DAY)]
    lim = await limits(store, acc.id)
    assert (lim.presenter_seats, lim.parallel_events) == (6, 1)
    assert plans.cycle_start(await get_account(store, acc.id)) == end
    # a second pass (another node's loop) renews nothing twice
    assert await renewal.renew(store, BILLER, PRICES, acc.id, end + 120) is None
    assert len(await invoices.account_invoices(store, acc.id)) == 3
    # a cancelled kind can be bought again
    again, _ = await addons.buy(store, BILLER, acc, PRICES, "parallel_events", 1, end + 200)
    assert again.status is addons.AddOnStatus.ACTIVE
    assert (await limits(store, acc.id)).parallel_events == 2


async def test_renew_all_catches_up_several_cycles_and_every_account(store: Store) -> None:
    a = await account(store)
    b = await account(store, Cycle.ANNUAL)
    await addons.buy(store, BILLER, a, PRICES, "storage", 2, at(a, 0))
    await addons.buy(store, BILLER, b, PRICES, "storage", 1, at(b, 0))
    made = await renewal.renew_all(store, BILLER, PRICES, at(a, 65))  # two monthly cycles
    assert [(i.account_id, i.total_cents) for i in made] == [
        (a.id, 2 * 2 * PRICES.unit_price(addons.AddOnKind.STORAGE, Cycle.MONTHLY))
    ]
    assert plans.cycle_start(await get_account(store, a.id)) == at(a, 60)
    assert plans.cycle_start(await get_account(store, b.id)) == plans.cycle_start(b)
    assert (await limits(store, a.id)).storage_mb == Plan().storage_mb + 2 * 1024


async def test_only_a_whole_batch_is_removed(store: Store) -> None:
    acc = await account(store)
    batch, _ = await addons.buy(store, BILLER, acc, PRICES, "presenter_seats", 5, at(acc, 1))
    for quantity in (2, 4, 0):
        with pytest.raises(TribuneError) as err:
            await addons.resize(store, acc, batch.id, quantity)
        assert err.value.code == "invalid" and "whole batch" in err.value.message
    with pytest.raises(TribuneError) as err:
        await addons.resize(store, acc, batch.id, 6)
    assert err.value.code == "invalid"
    assert (await addons.resize(store, acc, batch.id, 5)).quantity == 5
    assert (await limits(store, acc.id)).presenter_seats == Plan().presenter_seats + 5


@pytest.mark.parametrize(
    ("kind", "quantity", "field"),
    [
        ("presenter_seats", -1, "quantity"),
        ("presenter_seats", 0, "quantity"),
        ("presenter_seats", 1001, "quantity"),
        ("storage", 10**12, "quantity"),
        ("gold_plating", 1, "kind"),
        ("", 1, "kind"),
        ("change_username", 2, "quantity"),
        ("certificates", 3, "quantity"),
    ],
)
async def test_bad_purchases_are_invalid_and_change_nothing(
    store: Store, kind: str, quantity: int, field: str
) -> None:
    acc = await account(store)
    with pytest.raises(TribuneError) as err:
        await addons.buy(store, BILLER, acc, PRICES, kind, quantity, at(acc, 1))
    assert err.value.code == "invalid" and err.value.field == field
    assert await addons.list_addons(store, acc.id) == []
    assert await invoices.account_invoices(store, acc.id) == []
    assert await store.get(keys.INVOICE_SEQ) is None
    assert await limits(store, acc.id) == await limits(store, (await account(store)).id)


async def test_certificates_need_the_plan_or_the_add_on_for_a_year(store: Store) -> None:
    acc = await account(store, certificates=False)
    enabled = ev.EventCreate(title="T", settings=ev.SettingsChange(certificate={"enabled": True}))
    with pytest.raises(TribuneError) as err:
        await ev.create_event(store, acc, enabled)
    assert err.value.code == "forbidden" and "certificates" in err.value.message
    plain = await ev.create_event(store, acc, ev.EventCreate(title="T"))
    with pytest.raises(TribuneError):
        await ev.update_event(store, acc, plain.id, ev.EventUpdate(settings=enabled.settings))

    bought_at = at(acc, 3)
    module, invoice = await addons.buy(store, BILLER, acc, PRICES, "certificates", 1, bought_at)
    assert invoice.total_cents == PRICES.unit_price(addons.AddOnKind.CERTIFICATES, acc.cycle)
    assert module.renews_at is None and module.ends_at == bought_at + 365 * DAY
    assert (await limits(store, acc.id)).certificates
    await ev.update_event(store, acc, plain.id, ev.EventUpdate(settings=enabled.settings))
    with pytest.raises(TribuneError) as err:  # not twice at once
        await addons.buy(store, BILLER, acc, PRICES, "certificates", 1, bought_at + DAY)
    assert err.value.code == "conflict"
    with pytest.raises(TribuneError) as err:  # paid once: not cancelled
        await addons.cancel(store, acc, module.id)
    assert err.value.code == "conflict"
    # monthly renewals do not bill it; a year on, it is gone
    renewed = await renewal.renew(store, BILLER, PRICES, acc.id, bought_at + 100 * DAY)
    assert renewed is None
    assert (await limits(store, acc.id)).certificates
    await renewal.renew(store, BILLER, PRICES, acc.id, bought_at + 366 * DAY)
    assert not (await limits(store, acc.id)).certificates
    with_plan = await account(store)
    with pytest.raises(TribuneError) as err:
        await addons.buy(store, BILLER, with_plan, PRICES, "certificates", 1, at(with_plan, 1))
    assert err.value.code == "conflict"


async def test_payment_is_recorded_by_number(store: Store) -> None:
    acc = await account(store)
    _, invoice = await addons.buy(store, BILLER, acc, PRICES, "storage", 1, at(acc, 2))
    assert invoices.parse_number("INV-000001") == invoices.parse_number(" 1 ") == invoice.number
    paid = await invoices.record_payment(store, invoice.number, at(acc, 3), "bank 42")
    assert paid.status is invoices.InvoiceStatus.PAID and paid.payment_reference == "bank 42"
    again = await invoices.record_payment(store, invoice.number, at(acc, 9))
    assert again.paid_at == at(acc, 3)
    with pytest.raises(TribuneError) as err:
        await invoices.record_payment(store, 99, at(acc, 3))
    assert err.value.code == "not_found"
    for bad in ("", "x", "-3", "0"):
        with pytest.raises(TribuneError):
            invoices.parse_number(bad)


# -- the price list ------------------------------------------------------------------------------


def test_the_embedded_price_list_prices_every_kind_and_the_credit_tiers() -> None:
    for kind in addons.AddOnKind:
        for cycle in Cycle:
            assert PRICES.unit_price(kind, cycle) > 0
    assert [t.min for t in credit_tiers()] == [1, 500, 5000]
    assert credit_unit_cents(1) == 50 and credit_unit_cents(499) == 50
    assert credit_unit_cents(500) == 40 and credit_unit_cents(10_000) == 30


def test_a_price_list_file_replaces_the_prices_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    text = (Path(__file__).parents[3] / "room/accounts/prices.toml").read_text()
    good = tmp_path / "prices.toml"
    good.write_text(text.replace('currency = "EUR"', 'currency = "CHF"'))
    assert load_prices(good).currency == "CHF"
    for broken in (
        text.replace("[addons.storage]", "[addons.storagex]"),
        text.replace("monthly = 900", "monthly = -1"),
        text.replace('currency = "EUR"', 'currency = "euros"'),
        "not = [toml",
    ):
        bad = tmp_path / "bad.toml"
        bad.write_text(broken)
        with pytest.raises(ValueError):
            load_prices(bad)
    with pytest.raises(ValueError):
        load_prices(tmp_path / "missing.toml")


def test_an_account_stored_before_cycles_starts_its_cycle_at_its_creation() -> None:
    old = Account(id="acc_old", name="Old", plan=Plan(), created=T0)
    assert old.cycle is Cycle.MONTHLY and plans.cycle_start(old) == T0
    assert plans.cycle_end(old) == T0 + 30 * DAY
