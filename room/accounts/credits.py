"""The credits plan of an account (seed 004): buying credits at volume prices, clients,
allocating credits to a client, balances and the ledger.

Credits are bought into the account's unallocated pool, then allocated to a client; an
allocation never moves to another client and credits never expire. Each registration to
an event of a client consumes the event's cost from that client (`room.credit_ledger`,
the one place balances change). Every change is one ledger entry, written in the same
atomic step as the balances it moves.

Prices: `credit_tiers()` gives the unit price by volume, from the price list
(`room.accounts.prices`, `--prices`). The whole purchase is charged at the unit price of
the tier its count reaches, and invoiced like an add-on (`room.accounts.invoices`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec

from room import credit_ledger, keys
from room.accounts import invoices
from room.accounts.biller import Biller
from room.accounts.invoices import Invoice, InvoiceLine, Reason
from room.accounts.prices import PriceList, default_prices
from room.accounts.prices import credit_tiers as price_tiers
from room.credit_ledger import POOL, Client, EntryKind, LedgerEntry, client_field, used_field
from room.errors import Code, TribuneError, invalid
from room.records import Account, decode, encode, new_id
from room.store import Store

MAX_CREDITS = 1_000_000
"""The most credits one purchase or one allocation may move."""
MAX_CLIENTS = 1000
MAX_NAME = 200
MAX_REFERENCE = 200
MAX_COMMENT = 1000
LEDGER_PAGE = 1000


class Tier(msgspec.Struct, frozen=True):
    """From `min_credits` credits bought at once, each costs `unit_cents`."""

    min_credits: int
    unit_cents: int


def credit_tiers(prices: PriceList | None = None) -> tuple[Tier, ...]:
    """The volume tiers of the price list (`--prices`; default: the embedded one)."""
    return tuple(Tier(t.min, t.unit_cents) for t in price_tiers(prices))


def credit_currency(prices: PriceList | None = None) -> str:
    """The price list's one currency."""
    return (prices or default_prices()).currency


class Quote(msgspec.Struct):
    credits: int
    unit_cents: int
    total_cents: int
    currency: str


class Purchase(msgspec.Struct):
    id: str
    credits: int
    unit_cents: int
    total_cents: int
    currency: str
    at: float
    invoice_id: str | None = None


class ClientView(msgspec.Struct):
    id: str
    name: str
    own: bool
    created: float
    balance: int
    """Credits allocated and not consumed yet."""
    used: int
    """Credits its registrations consumed."""


class Balances(msgspec.Struct):
    unallocated: int
    clients: list[ClientView]


def _check_credits(credits: int) -> None:
    if isinstance(credits, bool) or not 1 <= credits <= MAX_CREDITS:
        raise invalid(f"credits must be a whole number from 1 to {MAX_CREDITS}", "credits")


def quote(credits: int, prices: PriceList | None = None) -> Quote:
    """The price of buying `credits` at once: every credit at the unit price of the highest
    tier the count reaches."""
    _check_credits(credits)
    tiers = sorted(credit_tiers(prices), key=lambda t: t.min_credits)
    unit = next(t.unit_cents for t in reversed(tiers) if credits >= t.min_credits)
    return Quote(credits, unit, unit * credits, credit_currency(prices))


async def purchase(
    store: Store,
    biller: Biller,
    account: Account,
    credits: int,
    at: float,
    prices: PriceList | None = None,
) -> tuple[Purchase, int, Invoice]:
    """Buy credits into the unallocated pool: the purchase, the pool's balance after, and
    its invoice (issued first: the ledger entry names it)."""
    q = quote(credits, prices)
    p = Purchase(new_id("cpu"), q.credits, q.unit_cents, q.total_cents, q.currency, at)
    line = InvoiceLine("Credits", q.credits, q.unit_cents, q.total_cents, "credits")
    invoice = await invoices.issue(
        store, biller, account, Reason.PURCHASE, [line], q.currency, (at, at), at
    )
    p.invoice_id = invoice.id
    entry = LedgerEntry(
        id=p.id,
        kind=EntryKind.PURCHASE,
        credits=p.credits,
        at=at,
        unit_cents=p.unit_cents,
        total_cents=p.total_cents,
        currency=p.currency,
        invoice_id=invoice.id,
    )
    pool = await credit_ledger.append(store, account.id, entry, None, POOL)
    assert pool is not None  # an addition always succeeds
    return p, pool, invoice


# -- clients ----------------------------------------------------------------------------


async def _view(store: Store, account_id: str, client: Client) -> ClientView:
    raw = await store.hmget(
        keys.credit_balances(account_id), [client_field(client.id), used_field(client.id)]
    )
    balance, used = (int(v or b"0") for v in raw)
    return ClientView(client.id, client.name, client.own, client.created, balance, used)


async def create_client(store: Store, account_id: str, name: str, at: float) -> ClientView:
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise invalid(f"a client's name is 1 to {MAX_NAME} characters", "name")
    await credit_ledger.own_client(store, account_id, at)
    client = Client(id=new_id("cli"), name=name, created=at)
    added = await store.hsetnx_capped(
        keys.credit_clients(account_id), client.id, encode(client), MAX_CLIENTS
    )
    if added is None:
        raise TribuneError(Code.LIMIT_REACHED, f"an account has at most {MAX_CLIENTS} clients")
    return await _view(store, account_id, client)


async def get_client(store: Store, account_id: str, client_id: str, at: float) -> ClientView:
    client = await credit_ledger.load_client(store, account_id, client_id, at)
    return await _view(store, account_id, client)


async def list_clients(store: Store, account_id: str, at: float) -> list[ClientView]:
    """Every client, the account's own first, then by creation."""
    await credit_ledger.own_client(store, account_id, at)
    raws = (await store.hgetall(keys.credit_clients(account_id))).values()
    clients = sorted((decode(r, Client) for r in raws), key=lambda c: (not c.own, c.created, c.id))
    values = await store.hgetall(keys.credit_balances(account_id))

    def held(field: str) -> int:
        return int(values.get(field, b"0"))

    return [
        ClientView(c.id, c.name, c.own, c.created, held(client_field(c.id)), held(used_field(c.id)))
        for c in clients
    ]


async def balances(store: Store, account_id: str, at: float) -> Balances:
    clients = await list_clients(store, account_id, at)
    return Balances(await credit_ledger.balance(store, account_id, POOL), clients)


# -- allocations --------------------------------------------------------------------------


async def allocate(
    store: Store,
    account_id: str,
    client_id: str,
    credits: int,
    at: float,
    reference: str = "",
    comment: str = "",
) -> tuple[LedgerEntry, ClientView]:
    """Move credits from the unallocated pool to one client, for good; `conflict` (and
    nothing moves) when the pool holds fewer."""
    _check_credits(credits)
    reference, comment = reference.strip(), comment.strip()
    if len(reference) > MAX_REFERENCE:
        raise invalid(f"a reference is at most {MAX_REFERENCE} characters", "reference")
    if len(comment) > MAX_COMMENT:
        raise invalid(f"a comment is at most {MAX_COMMENT} characters", "comment")
    client = await credit_ledger.load_client(store, account_id, client_id, at)
    entry = LedgerEntry(
        id=new_id("led"),
        kind=EntryKind.ALLOCATION,
        credits=credits,
        at=at,
        client_id=client.id,
        reference=reference,
        comment=comment,
    )
    if await credit_ledger.append(store, account_id, entry, POOL, client_field(client.id)) is None:
        pool = await credit_ledger.balance(store, account_id, POOL)
        raise TribuneError(
            Code.CONFLICT,
            f"only {pool} credits are unallocated: buy more credits first",
            "credits",
        )
    return entry, await _view(store, account_id, client)


# -- the ledger ---------------------------------------------------------------------------


async def ledger_pages(
    store: Store, account_id: str, client_id: str | None = None, page: int = LEDGER_PAGE
) -> AsyncIterator[list[LedgerEntry]]:
    """The ledger, oldest first, `page` entries at a time (one client's entries only when
    `client_id` is given)."""
    key = keys.credit_ledger(account_id)
    start = 0
    while True:
        raws = await store.lrange(key, start, start + page - 1)
        if not raws:
            return
        start += len(raws)
        entries = [decode(r, LedgerEntry) for r in raws]
        if client_id is not None:
            entries = [e for e in entries if e.client_id == client_id]
        if entries:
            yield entries


async def ledger(store: Store, account_id: str, client_id: str | None = None) -> list[LedgerEntry]:
    return [e async for page in ledger_pages(store, account_id, client_id) for e in page]


async def latest(store: Store, account_id: str, offset: int, limit: int) -> list[LedgerEntry]:
    """Ledger entries newest first: `limit` of them after skipping the `offset` newest."""
    if limit <= 0:
        return []
    raws = await store.lrange(keys.credit_ledger(account_id), -(offset + limit), -(offset + 1))
    return [decode(r, LedgerEntry) for r in reversed(raws)]
