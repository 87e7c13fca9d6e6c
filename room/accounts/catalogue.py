"""The add-on catalogue (issue 11, seeds 000 and 001): the kinds, what one unit of each
adds to the limits, which are paid once, and the stored add-on record.

Buying and cancelling are in `room.accounts.addons`; their prices in
`room.accounts.prices`; the limits they make in `room.accounts.limits`.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from room import keys
from room.records import decode
from room.store import Store


class AddOnKind(StrEnum):
    PRESENTER_SEATS = "presenter_seats"
    PARALLEL_EVENTS = "parallel_events"
    SECONDARY_ACCOUNTS = "secondary_accounts"
    RECORDING_SPACE = "recording_space"
    STORAGE = "storage"
    CERTIFICATES = "certificates"
    CHANGE_USERNAME = "change_username"


class AddOnStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"
    """Still in effect until `ends_at` (the cycle end), then removed; never renewed."""


ONE_TIME = frozenset({AddOnKind.CERTIFICATES, AddOnKind.CHANGE_USERNAME})
"""Paid once, never renewed with the plan, bought one at a time (quantity 1)."""

CERTIFICATES_DAYS = 365
"""The certificates module lasts one year from its purchase (seed 000)."""

UNIT_MB = 1024
"""What one unit of recording space or storage adds, in megabytes (1 GB)."""

MAX_QUANTITY = 1000
"""The most units one purchase may hold."""

PERIOD: dict[AddOnKind, str] = {kind: "cycle" for kind in AddOnKind} | {
    AddOnKind.CERTIFICATES: "year",
    AddOnKind.CHANGE_USERNAME: "once",
}
"""What one price pays for: a billing cycle, a year from the purchase, or once."""


class AddOn(msgspec.Struct):
    """One purchase: a batch of `quantity` units of one kind, removed only as a whole."""

    id: str
    account_id: str
    kind: AddOnKind
    quantity: int
    status: AddOnStatus
    price_cycle_cents: int
    """The full price of the batch for one whole cycle (one-time kinds: the price paid)."""
    charged_now_cents: int
    """What the purchase charged (prorated to the days left in the cycle)."""
    bought_at: float
    renews_at: float | None = None
    """When it renews with the plan (the cycle end); None when it never renews."""
    ends_at: float | None = None
    """When it stops being in effect (cancelled: the cycle end; certificates: a year on)."""
    invoice_id: str = ""
    """The purchase's invoice."""


def in_effect(addon: AddOn, now: float | None) -> bool:
    """Whether it counts in the limits at `now`. Without a time, every stored add-on
    counts: one that ended is removed from the store by the renewal step
    (`room.accounts.renewal`), the same moment on every node."""
    return now is None or addon.ends_at is None or addon.ends_at > now


async def stored_addons(store: Store, account_id: str) -> list[AddOn]:
    """The account's add-ons, oldest first."""
    raws = (await store.hgetall(keys.account_addons(account_id))).values()
    return sorted((decode(r, AddOn) for r in raws), key=lambda a: (a.bought_at, a.id))
