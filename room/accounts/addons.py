"""Buying and cancelling add-ons (issue 11, seeds 000 and 001).

- A purchase is a batch `{kind, quantity}`: its full-cycle price is quantity x the
  unit price of the account's cycle, and what it charges now is that prorated to the
  days left in the cycle, each started day counted whole
  (`room.accounts.plans.charged_now`). It renews with the plan at the cycle end.
- One-time kinds (`catalogue.ONE_TIME`: certificates for a year, change username) are
  bought one at a time, charged in full and never renewed. Certificates only for a
  plan without them, and not twice at once.
- Cancelling keeps the batch in effect until the cycle end; the renewal step then
  removes it and bills it no more. Only a whole batch is removed: a smaller quantity
  is refused (`invalid`). A cancelled kind can be bought again.
- Every purchase makes an invoice (`room.accounts.invoices`).

Who may buy (the main account's owner) is the edge's `Principal.require_owner`.
"""

from __future__ import annotations

import msgspec

from room import cas, keys
from room.accounts import invoices, plans
from room.accounts.biller import Biller
from room.accounts.catalogue import (
    CERTIFICATES_DAYS,
    MAX_QUANTITY,
    ONE_TIME,
    PERIOD,
    AddOn,
    AddOnKind,
    AddOnStatus,
    stored_addons,
)
from room.accounts.clock import DAY
from room.accounts.invoices import Invoice, InvoiceLine, Reason
from room.accounts.limits import combine
from room.accounts.prices import PriceList
from room.errors import Code, TribuneError, invalid, not_found
from room.records import Account, decode, encode, new_id
from room.store import Store

LABELS: dict[AddOnKind, str] = {
    AddOnKind.PRESENTER_SEATS: "Presenter seats",
    AddOnKind.PARALLEL_EVENTS: "Parallel events",
    AddOnKind.SECONDARY_ACCOUNTS: "Secondary accounts",
    AddOnKind.RECORDING_SPACE: "Recording space (1 GB)",
    AddOnKind.STORAGE: "Storage (1 GB)",
    AddOnKind.CERTIFICATES: "Certificates module (one year)",
    AddOnKind.CHANGE_USERNAME: "Change username",
}


class CatalogueEntry(msgspec.Struct):
    kind: AddOnKind
    unit_price_cents: int
    """One unit for one whole cycle of the account (one-time kinds: their price)."""
    currency: str
    one_time: bool
    label: str
    period: str
    """"cycle" (renews with the plan), "year" (certificates) or "once"."""


class Quote(msgspec.Struct):
    kind: AddOnKind
    quantity: int
    price_cycle_cents: int
    charged_now_cents: int
    currency: str
    renews_at: float | None
    remaining_days: int
    cycle_days: int


def catalogue(account: Account, prices: PriceList) -> list[CatalogueEntry]:
    return [
        CatalogueEntry(
            kind=kind,
            unit_price_cents=prices.unit_price(kind, account.cycle),
            currency=prices.currency,
            one_time=kind in ONE_TIME,
            label=LABELS[kind],
            period=PERIOD[kind],
        )
        for kind in AddOnKind
    ]


def parse_kind(kind: str) -> AddOnKind:
    try:
        return AddOnKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in AddOnKind)
        raise invalid(f"unknown add-on kind {kind!r}; the kinds are {known}", "kind") from None


def _check_quantity(kind: AddOnKind, quantity: int) -> None:
    if kind in ONE_TIME and quantity != 1:
        raise invalid(f"{kind.value} is bought one at a time (quantity 1)", "quantity")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise invalid(f"quantity must be between 1 and {MAX_QUANTITY}", "quantity")


def quote(account: Account, prices: PriceList, kind: str, quantity: int, now: float) -> Quote:
    """What buying `quantity` of `kind` costs: the full-cycle price and what is charged now."""
    k = parse_kind(kind)
    _check_quantity(k, quantity)
    price_cycle = prices.unit_price(k, account.cycle) * quantity
    if k in ONE_TIME:
        charged, renews_at = price_cycle, None
    else:
        charged, renews_at = plans.charged_now(account, price_cycle, now), plans.cycle_end(account)
    return Quote(
        kind=k,
        quantity=quantity,
        price_cycle_cents=price_cycle,
        charged_now_cents=charged,
        currency=prices.currency,
        renews_at=renews_at,
        remaining_days=plans.remaining_days(account, now),
        cycle_days=plans.cycle_days(account),
    )


async def buy(
    store: Store,
    biller: Biller,
    account: Account,
    prices: PriceList,
    kind: str,
    quantity: int,
    now: float,
) -> tuple[AddOn, Invoice]:
    """Buy a batch; everything is checked before anything is written."""
    q = quote(account, prices, kind, quantity, now)
    held = await stored_addons(store, account.id)
    if q.kind is AddOnKind.CERTIFICATES and combine(account, held, now).certificates:
        raise TribuneError(
            Code.CONFLICT, "certificates are already included (plan or add-on) on this account"
        )
    ends_at = now + CERTIFICATES_DAYS * DAY if q.kind is AddOnKind.CERTIFICATES else None
    period = (now, ends_at or q.renews_at or now)
    if q.kind is AddOnKind.CHANGE_USERNAME:
        period = (now, now)
    line = InvoiceLine(
        description=LABELS[q.kind],
        quantity=quantity,
        unit_cents=prices.unit_price(q.kind, account.cycle),
        amount_cents=q.charged_now_cents,
        kind=q.kind.value,
    )
    if q.kind not in ONE_TIME:
        line.description += f", {q.remaining_days} of {q.cycle_days} days"
    addon = AddOn(
        id=new_id("addon"),
        account_id=account.id,
        kind=q.kind,
        quantity=quantity,
        status=AddOnStatus.ACTIVE,
        price_cycle_cents=q.price_cycle_cents,
        charged_now_cents=q.charged_now_cents,
        bought_at=now,
        renews_at=q.renews_at,
        ends_at=ends_at,
    )
    invoice = await invoices.issue(
        store, biller, account, Reason.PURCHASE, [line], prices.currency, period, now
    )
    addon.invoice_id = invoice.id
    await store.hset(keys.account_addons(account.id), addon.id, encode(addon))
    return addon, invoice


async def list_addons(store: Store, account_id: str) -> list[AddOn]:
    return await stored_addons(store, account_id)


async def cancel(store: Store, account: Account, addon_id: str) -> AddOn:
    """Cancel a whole batch: in effect until the cycle end, then removed, never renewed.
    Cancelling a cancelled batch changes nothing; a one-time purchase cannot be cancelled."""
    ends_at = plans.cycle_end(account)

    def apply(addon: AddOn) -> None:
        if addon.kind in ONE_TIME:
            raise TribuneError(Code.CONFLICT, f"a {addon.kind.value} purchase cannot be cancelled")
        if addon.status is AddOnStatus.CANCELLED:
            return
        addon.status = AddOnStatus.CANCELLED
        addon.ends_at = min(ends_at, addon.renews_at or ends_at)
        addon.renews_at = None

    done = await cas.update(
        store,
        keys.account_addons(account.id),
        addon_id,
        AddOn,
        apply,
        missing=not_found("add-on"),
        conflict="the add-on is being changed concurrently; try again",
    )
    return done.after


async def resize(store: Store, account: Account, addon_id: str, quantity: int) -> AddOn:
    """A batch's quantity never changes: removing part of it is refused (`invalid`: only a
    whole batch is cancelled), and more units are another purchase."""
    raw = await store.hget(keys.account_addons(account.id), addon_id)
    if raw is None:
        raise not_found("add-on")
    addon = decode(raw, AddOn)
    if quantity < addon.quantity:
        raise invalid(
            f"only a whole batch can be removed: cancel all {addon.quantity} together",
            "quantity",
        )
    if quantity > addon.quantity:
        raise invalid("a batch cannot grow: buy another batch for more units", "quantity")
    return addon
