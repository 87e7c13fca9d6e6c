"""The cycle end (issue 11): the plan's cycle moves on, active add-ons renew with it and
are invoiced, cancelled ones (and a certificates module past its year) disappear.

`renew` is one account's step and `renew_all` every account's; the edge runs
`renew_all` in a loop every few seconds with its clock (`signaling.renewals`), tests
call them with a `ManualClock`'s time. Every node's loop may run at once: each change
is a compare-and-set (the cycle start, each add-on), so only one node renews a given
add-on for a given cycle, invoices it and mails the invoice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from room import cas, keys
from room.accounts import invoices, plans, secondary
from room.accounts.account import list_accounts
from room.accounts.addons import LABELS
from room.accounts.biller import Biller
from room.accounts.catalogue import ONE_TIME, AddOn, AddOnStatus, stored_addons
from room.accounts.clock import DAY
from room.accounts.invoices import Invoice, InvoiceLine, Reason
from room.accounts.prices import PriceList
from room.audience.outbox import Outbox
from room.records import Account
from room.store import Store

log = logging.getLogger(__name__)


async def _renew_addon(store: Store, account: Account, addon: AddOn, now: float) -> int:
    """Renew or remove one add-on at `now`; the cycles it was renewed for (0: none, or it
    was removed, or another node did it first)."""
    step = plans.cycle_days(account) * DAY
    cycles = 0

    def apply(a: AddOn) -> cas.Delete | None:
        nonlocal cycles
        cycles = 0
        if a.ends_at is not None and a.ends_at <= now:
            return cas.DELETE  # cancelled (or a year of certificates) and over: gone
        if a.status is not AddOnStatus.ACTIVE or a.kind in ONE_TIME or a.renews_at is None:
            return None
        while a.renews_at <= now:
            a.renews_at += step
            cycles += 1
        return None

    await cas.update(
        store,
        keys.account_addons(account.id),
        addon.id,
        AddOn,
        apply,
        missing=None,
        conflict="the add-on is being changed concurrently; try again",
    )
    return cycles


async def renew(
    store: Store,
    biller: Biller,
    prices: PriceList,
    account_id: str,
    now: float,
    outbox: Outbox | None = None,
    purge: secondary.Purge | None = None,
) -> Invoice | None:
    """One account's cycle end, if `now` reached it: move the cycle on, renew or remove
    its add-ons and invoice the renewals (mailed to the owner with `outbox`). Returns the
    renewal invoice, if this call made one."""
    account, moved = await plans.advance_cycle(store, account_id, now)
    lines: list[InvoiceLine] = []
    plan_price = prices.plan_price(account.cycle)
    if moved and plan_price:
        label = f"Plan ({account.cycle.value})"
        lines.append(InvoiceLine(label, moved, plan_price, moved * plan_price, "plan"))
    for addon in await stored_addons(store, account_id):
        cycles = await _renew_addon(store, account, addon, now)
        if cycles:
            unit = addon.price_cycle_cents // addon.quantity
            amount = cycles * addon.price_cycle_cents
            line = InvoiceLine(
                f"{LABELS[addon.kind]}, renewal", addon.quantity * cycles, unit, amount, addon.kind
            )
            lines.append(line)
    if moved and purge is not None:  # secondary accounts beyond the allowance now in effect
        await secondary.at_cycle_end(store, account_id, now, purge=purge)
    if not lines:
        return None
    period = (plans.cycle_start(account), plans.cycle_end(account))
    invoice = await invoices.issue(
        store, biller, account, Reason.RENEWAL, lines, prices.currency, period, now
    )
    if outbox is not None:
        await invoices.mail(store, outbox, account, invoice)
    return invoice


def _log_failure(account_id: str, exc: Exception) -> None:
    log.error("renewing the account %s failed", account_id, exc_info=exc)


async def renew_all(
    store: Store,
    biller: Biller,
    prices: PriceList,
    now: float,
    outbox: Outbox | None = None,
    on_error: Callable[[str, Exception], None] = _log_failure,
    purge: secondary.Purge | None = None,
) -> list[Invoice]:
    """Every account's cycle end (`renew`); one account's failure goes to `on_error` (the
    edge tells a store outage from a bug) and the others go on."""
    made: list[Invoice] = []
    for account in await list_accounts(store):
        try:
            invoice = await renew(store, biller, prices, account.id, now, outbox, purge)
        except Exception as exc:
            on_error(account.id, exc)
            continue
        if invoice is not None:
            made.append(invoice)
    return made
