"""Billing over HTTP (issue 11): the add-on catalogue, buying, cancelling and listing
add-ons, and the invoices with their PDFs. Everyone with `manage_account` reads; only
the main account's owner buys and cancels (`Principal.require_owner`). The rules are in
`room.accounts` (addons, invoices, limits, plans)."""

from __future__ import annotations

from aiohttp import web

from room import recordings
from room.accounts import addons, invoices
from room.accounts.invoice_pdf import render
from room.accounts.limits import limits_of
from room.permissions import Action
from signaling.auth import Door, Principal, for_account, for_owner
from signaling.context import Tribune, tribune
from signaling.http.common import body, json
from signaling.schemas.billing import AddOnBuy, AddOnResize, account_view
from signaling.socket.audience import audience

routes = web.RouteTableDef()
DASHBOARD = Door.DASHBOARD


async def reader(request: web.Request) -> tuple[Tribune, Principal]:
    t = tribune(request)
    return t, await for_account(request, t, DASHBOARD, Action.MANAGE_ACCOUNT)


async def owner(request: web.Request) -> tuple[Tribune, Principal]:
    t = tribune(request)
    return t, await for_owner(request, t, main=True)


@routes.get("/api/v1/account")
async def get_account(request: web.Request) -> web.Response:
    t, p = await reader(request)
    now = t.clock.now()
    limits = await limits_of(t.store, p.account, now)
    used = await recordings.used_bytes(t.store, p.account.id)
    return json(account_view(p.account, limits, used))


@routes.get("/api/v1/addons/catalogue")
async def catalogue(request: web.Request) -> web.Response:
    t, p = await reader(request)
    return json({"addons": addons.catalogue(p.account, t.config.prices)})


@routes.post("/api/v1/addons/quote")
async def quote(request: web.Request) -> web.Response:
    t, p = await reader(request)
    form = await body(request, AddOnBuy)
    q = addons.quote(p.account, t.config.prices, form.kind, form.quantity, t.clock.now())
    return json({"quote": q})


@routes.get("/api/v1/addons")
async def list_addons(request: web.Request) -> web.Response:
    t, p = await reader(request)
    return json({"addons": await addons.list_addons(t.store, p.account.id)})


@routes.post("/api/v1/addons")
async def buy(request: web.Request) -> web.Response:
    t, p = await owner(request)
    form = await body(request, AddOnBuy)
    addon, invoice = await addons.buy(
        t.store, t.biller, p.account, t.config.prices, form.kind, form.quantity, t.clock.now()
    )
    await invoices.mail(t.store, audience(request).mail, p.account, invoice)
    return json({"addon": addon, "invoice": invoices.brief(invoice)}, status=201)


@routes.patch("/api/v1/addons/{addon_id}")
async def resize(request: web.Request) -> web.Response:
    t, p = await owner(request)
    form = await body(request, AddOnResize)
    addon_id = request.match_info["addon_id"]
    return json({"addon": await addons.resize(t.store, p.account, addon_id, form.quantity)})


@routes.delete("/api/v1/addons/{addon_id}")
async def cancel(request: web.Request) -> web.Response:
    t, p = await owner(request)
    addon = await addons.cancel(t.store, p.account, request.match_info["addon_id"])
    return json({"addon": addon})


@routes.get("/api/v1/invoices")
async def list_invoices(request: web.Request) -> web.Response:
    t, p = await reader(request)
    return json({"invoices": await invoices.account_invoices(t.store, p.account.id)})


@routes.get("/api/v1/invoices/{invoice_id}.pdf")
async def invoice_pdf(request: web.Request) -> web.Response:
    t, p = await reader(request)
    invoice = await invoices.get_invoice(t.store, p.account.id, request.match_info["invoice_id"])
    return web.Response(
        body=render(invoice, p.account),
        content_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{invoice.label}.pdf"'},
    )
