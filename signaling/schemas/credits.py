"""Wire Structs of the credits plan over HTTP: purchases, clients, allocations."""

from __future__ import annotations

from typing import Annotated

import msgspec

from room.accounts.credits import (
    MAX_COMMENT,
    MAX_CREDITS,
    MAX_NAME,
    MAX_REFERENCE,
    Balances,
    ClientView,
    Purchase,
    Quote,
    Tier,
)
from room.credit_ledger import LedgerEntry

Credits = Annotated[int, msgspec.Meta(ge=1, le=MAX_CREDITS)]


class PurchaseForm(msgspec.Struct, forbid_unknown_fields=True):
    credits: Credits


class ClientForm(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(max_length=MAX_NAME)]


class AllocationForm(msgspec.Struct, forbid_unknown_fields=True):
    credits: Credits
    reference: Annotated[str, msgspec.Meta(max_length=MAX_REFERENCE)] = ""
    comment: Annotated[str, msgspec.Meta(max_length=MAX_COMMENT)] = ""


class Prices(msgspec.Struct):
    currency: str
    tiers: list[Tier]


class CreditsOverview(msgspec.Struct):
    """`GET /api/v1/credits`: the balances and the price tiers."""

    unallocated: int
    clients: list[ClientView]
    prices: Prices
    owner: bool
    """Whether the caller may buy, add clients and allocate (the account's owner)."""


class QuoteAnswer(msgspec.Struct):
    quote: Quote


class PoolBalance(msgspec.Struct):
    unallocated: int


class Purchased(msgspec.Struct):
    purchase: Purchase
    balance: PoolBalance


class ClientAnswer(msgspec.Struct):
    client: ClientView


class Allocated(msgspec.Struct):
    allocation: LedgerEntry
    client: ClientView


class ClientLedger(msgspec.Struct):
    client: ClientView
    ledger: list[LedgerEntry]


__all__ = [
    "Allocated",
    "AllocationForm",
    "Balances",
    "ClientAnswer",
    "ClientForm",
    "ClientLedger",
    "CreditsOverview",
    "PoolBalance",
    "Prices",
    "PurchaseForm",
    "Purchased",
    "QuoteAnswer",
]
