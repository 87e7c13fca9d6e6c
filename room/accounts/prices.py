"""The price list: one currency, integer cents, read from TOML (`tomllib`).

The embedded default is `room/accounts/prices.toml` (documented example prices); the
operator gives another with `tribune serve --prices FILE`. Its tables:

- `currency`: the one currency of every amount (e.g. "EUR");
- `[plan]`: the plan's price per cycle, `monthly` and `annual` (0: not invoiced);
- `[addons.<kind>]`: for an add-on renewed with the plan, `monthly` and `annual`, the
  price of one unit for one whole cycle; for a one-time add-on (`certificates`,
  `change_username`), `price`;
- `[credits]`: `tiers = [{min = 1, unit_cents = ...}, {min = 500, ...}]`, the unit price
  of a credit by the quantity bought at once, read with `credit_tiers` (the credits plan).
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Annotated

import msgspec

from room.accounts.catalogue import ONE_TIME, AddOnKind
from room.records import Cycle

DEFAULT_FILE = Path(__file__).with_name("prices.toml")

Cents = Annotated[int, msgspec.Meta(ge=0, le=10**9)]


class CyclePrice(msgspec.Struct, forbid_unknown_fields=True):
    monthly: Cents | None = None
    annual: Cents | None = None
    price: Cents | None = None
    """One-time add-ons: the price paid once."""

    def per(self, cycle: Cycle) -> int | None:
        return self.monthly if cycle is Cycle.MONTHLY else self.annual


class CreditTier(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    min: Annotated[int, msgspec.Meta(ge=1)]
    """The smallest quantity bought at once this tier applies to."""
    unit_cents: Cents


class CreditPrices(msgspec.Struct, forbid_unknown_fields=True):
    tiers: Annotated[list[CreditTier], msgspec.Meta(min_length=1)]


class PriceList(msgspec.Struct, forbid_unknown_fields=True):
    currency: Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")]
    addons: dict[AddOnKind, CyclePrice]
    credits: CreditPrices
    plan: CyclePrice = msgspec.field(default_factory=lambda: CyclePrice(monthly=0, annual=0))

    def unit_price(self, kind: AddOnKind, cycle: Cycle) -> int:
        """One unit of `kind` for one whole `cycle` (one-time kinds: their price)."""
        entry = self.addons[kind]
        value = entry.price if kind in ONE_TIME else entry.per(cycle)
        assert value is not None  # checked by `parse`
        return value

    def plan_price(self, cycle: Cycle) -> int:
        return self.plan.per(cycle) or 0


def parse(data: dict[str, object], source: str = "price list") -> PriceList:
    """A price list from parsed TOML; `ValueError` naming what is wrong."""
    try:
        prices = msgspec.convert(data, PriceList)
    except msgspec.ValidationError as exc:
        raise ValueError(f"{source}: {exc}") from None
    for kind in AddOnKind:
        entry = prices.addons.get(kind)
        if entry is None:
            raise ValueError(f"{source}: no price for the add-on {kind.value!r}")
        if kind in ONE_TIME and entry.price is None:
            raise ValueError(f"{source}: the one-time add-on {kind.value!r} needs `price`")
        if kind not in ONE_TIME and (entry.monthly is None or entry.annual is None):
            raise ValueError(f"{source}: the add-on {kind.value!r} needs `monthly` and `annual`")
    return prices


def load_prices(path: str | Path | None = None) -> PriceList:
    """The price list in the TOML file `path`, or the embedded default; `ValueError` when
    the file cannot be read or is not a price list."""
    if path is None:
        return default_prices()
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    return parse(data, str(path))


@cache
def default_prices() -> PriceList:
    with DEFAULT_FILE.open("rb") as f:
        return parse(tomllib.load(f), str(DEFAULT_FILE))


def credit_tiers(prices: PriceList | None = None) -> list[CreditTier]:
    """The credits' unit-price tiers of `prices` (default: the embedded list), by `min`."""
    return sorted((prices or default_prices()).credits.tiers, key=lambda t: t.min)


def credit_unit_cents(quantity: int, prices: PriceList | None = None) -> int:
    """The unit price of one credit when `quantity` are bought at once: the tier with the
    highest `min` not above `quantity` (the lowest tier below every `min`)."""
    tiers = credit_tiers(prices)
    chosen = tiers[0]
    for tier in tiers:
        if tier.min <= quantity:
            chosen = tier
    return chosen.unit_cents
