"""The credits plan's balances and ledger, as the audience and the account both use them.

An account's credits sit in one hash (`keys.credit_balances`): the unallocated pool, each
client's balance and what each client's registrations consumed. Every change moves
credits between two of these fields and appends its ledger entry in one atomic step
(`Store.hmove`: a Lua script on Redis, a step without suspension in the embedded store),
so that no balance ever goes below zero, however many registrations arrive at once, and
the ledger lists every move. Purchases, clients and allocations are the account's
(`room.accounts.credits`); consumption at registration is here, because the audience
(`room.audience.registration`) may not import the accounts.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from room import keys
from room.errors import Code, TribuneError, not_found
from room.records import Event, decode, encode, new_id
from room.store import Store

DEFAULT_CREDIT_COST = 6
"""Credits one registrant costs an event of a client unless the event says otherwise (seed
004: "1 jeu = 6 crédits")."""
MAX_CREDIT_COST = 10_000
OWN_CLIENT = "own"
"""The id of the account's own client, made on first use (seed 004: "un client sera
automatiquement généré ... Il s'agit du vôtre")."""
OWN_CLIENT_NAME = "Own client"
POOL = "pool"
"""The field of the unallocated credits."""


def client_field(client_id: str) -> str:
    return f"client:{client_id}"


def used_field(client_id: str) -> str:
    return f"used:{client_id}"


class EntryKind(StrEnum):
    PURCHASE = "purchase"
    """Credits bought into the pool."""
    ALLOCATION = "allocation"
    """Credits moved from the pool to a client (never back, never to another client)."""
    CONSUMPTION = "consumption"
    """A registration to a client's event took its cost from the client's balance."""


class LedgerEntry(msgspec.Struct, omit_defaults=True):
    id: str
    kind: EntryKind
    credits: int
    at: float
    client_id: str | None = None
    reference: str = ""
    comment: str = ""
    event_id: str | None = None
    registration_id: str | None = None
    email: str = ""
    unit_cents: int | None = None
    total_cents: int | None = None
    currency: str = ""
    invoice_id: str | None = None
    """A purchase's invoice, once the billing part issues it."""


class Client(msgspec.Struct):
    """Whom credits are allocated to, and whose events consume them."""

    id: str
    name: str
    created: float
    own: bool = False


async def append(
    store: Store,
    account_id: str,
    entry: LedgerEntry,
    source: str | None,
    target: str | None,
    mark: tuple[str, str, bool] | None = None,
) -> int | None:
    """Move `entry.credits` from field `source` to `target` and record `entry`, atomically
    (once per `mark`: `Store.hmove`); what `source` holds after (`target` without a
    source), None when it held too little, `store.MARKED` when the mark forbade it."""
    return await store.hmove(
        keys.credit_balances(account_id),
        source,
        target,
        entry.credits,
        keys.credit_ledger(account_id),
        encode(entry),
        mark,
    )


async def own_client(store: Store, account_id: str, at: float) -> Client:
    """The account's own client, made the first time anybody asks."""
    made = Client(id=OWN_CLIENT, name=OWN_CLIENT_NAME, created=at, own=True)
    await store.hsetnx(keys.credit_clients(account_id), OWN_CLIENT, encode(made))
    raw = await store.hget(keys.credit_clients(account_id), OWN_CLIENT)
    return made if raw is None else decode(raw, Client)


async def load_client(store: Store, account_id: str, client_id: str, at: float) -> Client:
    """One of the account's clients (the own one is made on first use), or `not_found`."""
    if client_id == OWN_CLIENT:
        return await own_client(store, account_id, at)
    raw = await store.hget(keys.credit_clients(account_id), client_id)
    if raw is None:
        raise not_found("client")
    return decode(raw, Client)


async def balance(store: Store, account_id: str, field: str) -> int:
    return int(await store.hget(keys.credit_balances(account_id), field) or b"0")


async def credits_low(store: Store, event: Event) -> tuple[bool, int | None]:
    """Whether the event's client has less left than one more registration costs, and how
    much it has left (None for an event of no client: it consumes nothing)."""
    if event.client_id is None:
        return False, None
    left = await balance(store, event.account_id, client_field(event.client_id))
    return left < event.credit_cost, left


def insufficient() -> TribuneError:
    return TribuneError(
        Code.INSUFFICIENT_CREDITS,
        "registration is not possible at the moment: the organizer of this event has no "
        "credits left for new registrations. Please contact the organizer.",
    )


async def consume(store: Store, event: Event, registration_id: str, email: str, at: float) -> None:
    """Take the event's cost per registrant from its client's balance, once per e-mail
    however many tries of its registration arrive (there is one registration per e-mail),
    or refuse with `insufficient_credits` and take nothing."""
    if event.client_id is None or event.credit_cost <= 0:
        return
    entry = LedgerEntry(
        id=new_id("led"),
        kind=EntryKind.CONSUMPTION,
        credits=event.credit_cost,
        at=at,
        client_id=event.client_id,
        event_id=event.id,
        registration_id=registration_id,
        email=email,
    )
    source, target = client_field(event.client_id), used_field(event.client_id)
    mark = (keys.registration_charges(event.id), email, True)
    if await append(store, event.account_id, entry, source, target, mark) is None:
        raise insufficient()  # (MARKED: another try of this e-mail's registration paid)
