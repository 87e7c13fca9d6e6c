"""The team over HTTP: the account's users (the owner adds and removes them), secondary
accounts (the main account's owner), and the organizer's invitations mailed from the
dashboard (presenters and collaborators of one event). Rules live in `room.accounts`
(`users`, `secondary`, `invites`); who may do what is asked of `signaling.auth`."""

from __future__ import annotations

from aiohttp import web

from room.accounts import invites, secondary, users
from room.permissions import Action
from room.records import Invitation
from signaling.auth import Door, for_account, for_event, for_owner
from signaling.context import Tribune, tribune
from signaling.http.common import body, join_link, json
from signaling.http.events import purge_event, revoked
from signaling.schemas.signin import UserCreate
from signaling.schemas.team import (
    MailedInvitation,
    SecondaryCreate,
    SecondaryCreated,
    SecondaryDelete,
    SecondaryList,
    StaffInvite,
)
from signaling.socket.audience import audience

routes = web.RouteTableDef()
DASHBOARD = Door.DASHBOARD


# -- the account's users ---------------------------------------------------------------------


@routes.post("/api/v1/account/users")
async def create_user(request: web.Request) -> web.Response:
    t = tribune(request)
    p = await for_owner(request, t)
    form = await body(request, UserCreate)
    user = await users.create_user(
        t.store, p.account, form.email, form.name, form.kind, form.password
    )
    return json({"user": user.view()}, status=201)


@routes.get("/api/v1/account/users")
async def list_users(request: web.Request) -> web.Response:
    t = tribune(request)
    p = await for_account(request, t, DASHBOARD, Action.MANAGE_ACCOUNT)
    listed = await users.account_users(t.store, p.account.id)
    return json({"users": [u.view() for u in listed]})


@routes.delete("/api/v1/account/users/{user_id}")
async def remove_user(request: web.Request) -> web.Response:
    """Remove a user: his logins end at once, his staff links are withdrawn."""
    t = tribune(request)
    p = await for_owner(request, t)
    for event_id in await users.remove_user(t.store, p.account, request.match_info["user_id"]):
        await revoked(t, event_id)
    return web.json_response({"ok": True})


# -- secondary accounts ----------------------------------------------------------------------


def purge_with(t: Tribune) -> secondary.Purge:
    """The event deletion's purge: close the event's connections, then delete its keys."""

    async def purge(event_id: str) -> None:
        await purge_event(t, event_id)

    return purge


@routes.get("/api/v1/account/secondary")
async def list_secondary(request: web.Request) -> web.Response:
    t = tribune(request)
    p = await for_owner(request, t, main=True)
    listed = await secondary.list_secondary(t.store, p.account)
    allowance = await secondary.secondary_allowance(t.store, p.account.id, t.clock.now())
    return json(SecondaryList(listed, allowance))


@routes.post("/api/v1/account/secondary")
async def create_secondary(request: web.Request) -> web.Response:
    t = tribune(request)
    p = await for_owner(request, t, main=True)
    form = await body(request, SecondaryCreate)
    login_url = f"{t.config.base_url}/login"
    account, api_key, boss = await secondary.create(
        t.store, audience(request).mail, p.account, form.name, form.owner_email,
        t.clock.now(), login_url,
    )  # fmt: skip
    view = secondary.SecondaryView(account.id, account.name, boss.email, account.created)
    return json(SecondaryCreated(view, api_key), status=201)


@routes.delete("/api/v1/account/secondary/{account_id}")
async def delete_secondary(request: web.Request) -> web.Response:
    """Erase a secondary account and all its data; the body confirms with its name."""
    t = tribune(request)
    p = await for_owner(request, t, main=True)
    form = await body(request, SecondaryDelete)
    await secondary.delete(
        t.store, p.account, request.match_info["account_id"], form.confirm, purge_with(t)
    )
    return web.json_response({"ok": True})


# -- the organizer's invitations mailed from the dashboard ---------------------------------------


def mailed_view(t: Tribune, inv: Invitation) -> MailedInvitation:
    return MailedInvitation(
        inv.id, inv.role, inv.name, inv.email, inv.gen, inv.created, join_link(t, inv)
    )


@routes.get("/api/v1/dashboard/events/{event_id}/invitations")
async def list_mailed(request: web.Request) -> web.Response:
    t = tribune(request)
    _, event, _ = await for_event(request, t, DASHBOARD, Action.EDIT_EVENT)
    listed = await invites.mailed(t.store, event.id)
    return json({"invitations": [mailed_view(t, inv) for inv in listed]})


@routes.post("/api/v1/dashboard/events/{event_id}/invitations")
async def send_invitation(request: web.Request) -> web.Response:
    t = tribune(request)
    p, event, _ = await for_event(request, t, DASHBOARD, Action.EDIT_EVENT)
    form = await body(request, StaffInvite)
    inv = await invites.invite(
        t.store, audience(request).mail, event, form.role, form.email, form.name, p.who,
        lambda i: join_link(t, i),
    )  # fmt: skip
    return json({"invitation": mailed_view(t, inv)}, status=201)


@routes.post("/api/v1/dashboard/events/{event_id}/invitations/{inv_id}/reissue")
async def reissue_invitation(request: web.Request) -> web.Response:
    t = tribune(request)
    p, event, _ = await for_event(request, t, DASHBOARD, Action.EDIT_EVENT)
    inv = await invites.reissue(
        t.store, audience(request).mail, event, request.match_info["inv_id"], p.who,
        lambda i: join_link(t, i),
    )  # fmt: skip
    await revoked(t, event.id)
    return json({"invitation": mailed_view(t, inv)})


@routes.delete("/api/v1/dashboard/events/{event_id}/invitations/{inv_id}")
async def revoke_invitation(request: web.Request) -> web.Response:
    t = tribune(request)
    p, event, _ = await for_event(request, t, DASHBOARD, Action.EDIT_EVENT)
    await invites.revoke(t.store, event, request.match_info["inv_id"], p.who)
    await revoked(t, event.id)
    return web.json_response({"ok": True})
