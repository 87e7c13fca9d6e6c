"""The credits plan over HTTP: balances, purchases, clients, allocations and the ledger.

Only the account's owner buys, makes clients and allocates (`Principal.require_owner`);
whoever may manage the account reads. Rules live in `room.accounts.credits` and
`room.credit_ledger`."""

from __future__ import annotations

import msgspec
from aiohttp import web

from room.accounts import credits, invoices, users
from room.accounts.credits_export import ledger_table
from room.audience import exports as xp
from room.errors import invalid
from room.permissions import Action
from signaling.auth import Door, Principal, for_account, for_owner
from signaling.context import tribune
from signaling.http.common import body, json, paging, stream_table
from signaling.schemas.credits import (
    Allocated,
    AllocationForm,
    ClientAnswer,
    ClientForm,
    ClientLedger,
    CreditsOverview,
    PoolBalance,
    Prices,
    Purchased,
    PurchaseForm,
    QuoteAnswer,
)
from signaling.socket.audience import audience

routes = web.RouteTableDef()
DASHBOARD = Door.DASHBOARD


async def reader(request: web.Request) -> Principal:
    return await for_account(request, tribune(request), DASHBOARD, Action.MANAGE_ACCOUNT)


async def owner(request: web.Request) -> Principal:
    return await for_owner(request, tribune(request))


@routes.get("/api/v1/credits")
async def overview(request: web.Request) -> web.Response:
    t = tribune(request)
    p = await reader(request)
    b = await credits.balances(t.store, p.account.id, t.clock.now())
    listed = t.config.prices
    prices = Prices(credits.credit_currency(listed), list(credits.credit_tiers(listed)))
    return json(CreditsOverview(b.unallocated, b.clients, prices, users.is_owner(p.user)))


@routes.post("/api/v1/credits/quote")
async def quote(request: web.Request) -> web.Response:
    await reader(request)
    form = await body(request, PurchaseForm)
    return json(QuoteAnswer(credits.quote(form.credits, tribune(request).config.prices)))


@routes.post("/api/v1/credits/purchases")
async def purchase(request: web.Request) -> web.Response:
    t = tribune(request)
    p = await owner(request)
    form = await body(request, PurchaseForm)
    bought, pool, invoice = await credits.purchase(
        t.store, t.biller, p.account, form.credits, t.clock.now(), t.config.prices
    )
    await invoices.mail(t.store, audience(request).mail, p.account, invoice)
    answer = Purchased(bought, PoolBalance(pool))
    return json({**msgspec.to_builtins(answer), "invoice": invoices.brief(invoice)}, status=201)


@routes.get("/api/v1/credits/ledger")
async def ledger(request: web.Request) -> web.Response:
    t = tribune(request)
    p = await reader(request)
    offset, limit = paging(request, 100)
    return json({"ledger": await credits.latest(t.store, p.account.id, offset, limit)})


@routes.get("/api/v1/credits/ledger.{fmt}")
async def export_ledger(request: web.Request) -> web.StreamResponse:
    try:
        fmt = xp.FileFormat(request.match_info["fmt"])
    except ValueError:
        raise invalid("export as csv or xlsx", "format") from None
    t = tribune(request)
    p = await reader(request)
    table = ledger_table(t.store, p.account.id, t.clock.now())
    return await stream_table(request, table, fmt, f"{p.account.id}-credits-ledger")


@routes.get("/api/v1/clients")
async def list_clients(request: web.Request) -> web.Response:
    t = tribune(request)
    p = await reader(request)
    return json({"clients": await credits.list_clients(t.store, p.account.id, t.clock.now())})


@routes.post("/api/v1/clients")
async def create_client(request: web.Request) -> web.Response:
    t = tribune(request)
    p = await owner(request)
    form = await body(request, ClientForm)
    client = await credits.create_client(t.store, p.account.id, form.name, t.clock.now())
    return json(ClientAnswer(client), status=201)


@routes.post("/api/v1/clients/{client_id}/credits")
async def allocate(request: web.Request) -> web.Response:
    t = tribune(request)
    p = await owner(request)
    client_id = request.match_info["client_id"]
    await credits.get_client(t.store, p.account.id, client_id, t.clock.now())  # 404 first
    form = await body(request, AllocationForm)
    entry, client = await credits.allocate(
        t.store,
        p.account.id,
        client_id,
        form.credits,
        t.clock.now(),
        reference=form.reference,
        comment=form.comment,
    )
    return json(Allocated(entry, client), status=201)


@routes.get("/api/v1/clients/{client_id}/ledger")
async def client_ledger(request: web.Request) -> web.Response:
    t = tribune(request)
    p = await reader(request)
    client = await credits.get_client(
        t.store, p.account.id, request.match_info["client_id"], t.clock.now()
    )
    entries = await credits.ledger(t.store, p.account.id, client.id)
    return json(ClientLedger(client, entries))
