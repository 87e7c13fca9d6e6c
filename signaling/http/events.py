"""Events over HTTP: the events API of scripts (events, invitations, roster), the dashboard's
events (list, create, edit, the asker's own links), and each event's collaborators."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import msgspec
from aiohttp import web

from moderation import question_settings
from moderation import retention as moderation_retention
from room import credit_ledger
from room import events as ev
from room.accounts import users
from room.audience import access, registration, sessions
from room.audience import settings as audience_settings
from room.errors import invalid
from room.event_settings import SettingsChange
from room.events import load_event
from room.permissions import PERMISSIONS, Action
from room.presence import roster
from room.records import Event, Invitation
from room.types import AccessMode, EventKind, Role
from signaling.auth import Door, Principal, for_account, for_event, person_of, principal
from signaling.context import Tribune, tribune
from signaling.http.common import body, join_link, json
from signaling.http.signin import me_view
from signaling.schemas.audience import (
    CollaboratorAdd,
    EventCounts,
    EventDetail,
    EventForm,
    EventLinks,
    EventView,
    InvitationLink,
    MyLinks,
)
from signaling.socket.audience import audience

routes = web.RouteTableDef()
API, DASHBOARD = Door.API_KEY, Door.DASHBOARD


def invitation_link(t: Tribune, inv: Invitation) -> InvitationLink:
    token = t.tokens.sign_invitation(inv)
    return InvitationLink(msgspec.to_builtins(inv), token, t.url_for(inv, token))


# -- the events API (the account's API key) ------------------------------------------------


async def revoked(t: Tribune, event_id: str) -> None:
    """After a revocation: close the event's connections that no longer hold, on every node."""
    assert t.hub is not None
    await t.hub.revoke(event_id)


async def purge_event(t: Tribune, event_id: str) -> None:
    """Everything a deleted event owns: its connections are closed first (they are listed in
    its keys), then its keys go, and its recordings' files on disk."""
    await revoked(t, event_id)
    await moderation_retention.purge(t.store, event_id)
    files = t.config.recording_dir(event_id)
    await asyncio.to_thread(shutil.rmtree, files, True)


@routes.get("/api/v1/events")
async def list_events(request: web.Request) -> web.Response:
    t = tribune(request)
    p = await for_account(request, t, API, Action.MANAGE_ACCOUNT)
    return json({"events": await ev.list_events(t.store, p.account)})


@routes.post("/api/v1/events")
async def create_event(request: web.Request) -> web.Response:
    t = tribune(request)
    p = await for_account(request, t, API, Action.MANAGE_ACCOUNT)
    fields = await body(request, ev.EventCreate)
    return json(await ev.create_event(t.store, p.account, fields), status=201)


@routes.get("/api/v1/events/{event_id}")
async def get_event(request: web.Request) -> web.Response:
    _, event, _ = await for_event(request, tribune(request), API, Action.VIEW_AUDIENCE)
    return json(event)


@routes.patch("/api/v1/events/{event_id}")
async def update_event(request: web.Request) -> web.Response:
    t = tribune(request)
    p, event, _ = await for_event(request, t, API, Action.EDIT_EVENT)
    fields = await body(request, ev.EventUpdate)
    return json(await ev.update_event(t.store, p.account, event.id, fields))


@routes.delete("/api/v1/events/{event_id}")
async def delete_event(request: web.Request) -> web.Response:
    t = tribune(request)
    p, event, _ = await for_event(request, t, API, Action.EDIT_EVENT)
    await ev.delete_event(t.store, p.account, event.id)
    await purge_event(t, event.id)
    return web.json_response({"ok": True})


@routes.post("/api/v1/events/{event_id}/invitations")
async def create_invitation(request: web.Request) -> web.Response:
    t = tribune(request)
    _, event, _ = await for_event(request, t, API, Action.EDIT_EVENT)
    fields = await body(request, ev.InvitationCreate)
    return json(invitation_link(t, await ev.invite(t.store, event, fields)), status=201)


@routes.get("/api/v1/events/{event_id}/invitations")
async def list_invitations(request: web.Request) -> web.Response:
    t = tribune(request)
    _, event, _ = await for_event(request, t, API, Action.VIEW_AUDIENCE)
    return json({"invitations": await ev.list_invitations(t.store, event.id)})


@routes.post("/api/v1/events/{event_id}/invitations/{inv_id}/reissue")
async def reissue_invitation(request: web.Request) -> web.Response:
    t = tribune(request)
    _, event, _ = await for_event(request, t, API, Action.EDIT_EVENT)
    inv = await ev.reissue(t.store, event, request.match_info["inv_id"])
    await revoked(t, event.id)
    return json(invitation_link(t, inv))


@routes.get("/api/v1/events/{event_id}/roster")
async def get_roster(request: web.Request) -> web.Response:
    t = tribune(request)
    _, event, _ = await for_event(request, t, API, Action.SEE_ROSTER)
    people = await roster.people(t.store, event.id)
    return json({"roster": [p.view() for p in people], "count": len(people)})


# -- the dashboard's events ----------------------------------------------------------------


async def _view_fields(t: Tribune, event: Event, role: Role) -> dict[str, Any]:
    """The keyword arguments of an `EventView` (or a view built on it) of `event`."""
    links = EventLinks(
        stats=f"{t.config.base_url}/stats/{event.id}",
        register=f"{t.config.base_url}/register/{event.id}"
        if event.access_mode is AccessMode.REGISTRATION
        else None,
    )
    can = sorted(a.value for a in PERMISSIONS[role])
    low, left = await credit_ledger.credits_low(t.store, event)
    fields = msgspec.structs.asdict(event)
    return {
        **fields,
        "role": role,
        "can": can,
        "links": links,
        "credits_low": low,
        "credits_left": left,
    }


async def event_view(t: Tribune, event: Event, role: Role) -> EventView:
    return EventView(**await _view_fields(t, event, role))


def audience_change(form: EventForm) -> SettingsChange:
    """The editor's audience settings; its question settings go to `configure_questions`."""
    return SettingsChange(
        registration_fields=form.registration_fields,
        certificate=form.certificate,
        auto_record=form.auto_record,
        replay_mail=form.replay_mail,
    )


async def configure_questions(
    t: Tribune, p: Principal, event: Event, role: Role, form: EventForm
) -> Event:
    """Hand the editor's question settings to moderation, which audits them and tells the
    connected pages; the event as it is afterwards."""
    if form.question_visibility is None and form.anonymous_questions is None:
        return event
    who = await person_of(t.store, p, event, role)
    out = await question_settings.configure(
        t.store, event.id, who, form.question_visibility, form.anonymous_questions
    )
    assert t.hub is not None
    await t.hub.fanout.outcome(event.id, out)
    return await load_event(t.store, event.id)


@routes.get("/api/v1/dashboard/events")
async def dashboard_events(request: web.Request) -> web.Response:
    t = tribune(request)
    p = await principal(request, t, DASHBOARD)
    visible = await users.visible_events(t.store, p.account, p.user)
    me = msgspec.to_builtins(me_view(p))
    return json({"events": [await event_view(t, e, r) for e, r in visible], **me})


@routes.post("/api/v1/dashboard/events")
async def dashboard_create(request: web.Request) -> web.Response:
    t = tribune(request)
    p = await for_account(request, t, DASHBOARD, Action.MANAGE_ACCOUNT)
    form = await body(request, EventForm)
    if form.title is None:
        raise invalid("a title is required", "title")
    fields = ev.EventCreate(
        title=form.title,
        kind=form.kind or EventKind.WEBINAR,
        access_mode=form.access_mode or AccessMode.OPEN,
        capacity=form.capacity,
        scheduled_start=form.scheduled_start,
        settings=audience_change(form),
        client_id=form.client_id,
        credit_cost=form.credit_cost,
    )
    event = await audience_settings.create_event(t.store, p.account, fields, p.who)
    role = p.role_in(event)
    assert role is not None
    event = await configure_questions(t, p, event, role, form)
    return json(await event_view(t, event, role), status=201)


@routes.get("/api/v1/dashboard/events/{event_id}")
async def dashboard_event(request: web.Request) -> web.Response:
    t = tribune(request)
    _, event, role = await for_event(request, t, DASHBOARD, Action.VIEW_AUDIENCE)
    direct = await access.direct_link(t.store, event)
    counts = EventCounts(
        registrations=await registration.count(t.store, event.id),
        guests=await access.guest_count(t.store, event.id),
        sessions=await sessions.count(t.store, event.id),
    )
    return json(
        EventDetail(
            **await _view_fields(t, event, role),
            counts=counts,
            direct_link=None if direct is None else join_link(t, direct),
            collaborators=[u.view() for u in await users.collaborators(t.store, event.id)],
        )
    )


@routes.patch("/api/v1/dashboard/events/{event_id}")
async def dashboard_update(request: web.Request) -> web.Response:
    t = tribune(request)
    p, event, role = await for_event(request, t, DASHBOARD, Action.EDIT_EVENT)
    form = await body(request, EventForm)
    fields = ev.EventUpdate(
        title=form.title,
        kind=form.kind,
        access_mode=form.access_mode,
        capacity=form.capacity,
        scheduled_start=form.scheduled_start,
        settings=audience_change(form),
        client_id=form.client_id,
        credit_cost=form.credit_cost,
    )
    updated = await audience_settings.edit_event(t.store, p.account, event.id, fields, p.who)
    updated = await configure_questions(t, p, updated, role, form)
    return json(await event_view(t, updated, role))


@routes.post("/api/v1/events/{event_id}/links")
async def my_links(request: web.Request) -> web.Response:
    """The asker's own links into the event's room, manager and screen pages."""
    t = tribune(request)
    p, event, role = await for_event(request, t, DASHBOARD, Action.OPEN_MANAGER)
    name = "Organizer" if p.user is None else p.user.name
    email = "" if p.user is None else p.user.email
    inv = await users.staff_invitation(t.store, event, p.holder, role, name, email)
    token = t.tokens.sign_invitation(inv)
    return json(
        MyLinks(
            token=token,
            room=t.url_for(inv, token, page="room"),
            manage=t.url_for(inv, token, page="manage"),
            screen=t.url_for(inv, token, page="screen"),
            stats=f"{t.config.base_url}/stats/{event.id}",
        )
    )


# -- collaborators -----------------------------------------------------------------------


@routes.get("/api/v1/events/{event_id}/collaborators")
async def list_collaborators(request: web.Request) -> web.Response:
    t = tribune(request)
    _, event, _ = await for_event(request, t, DASHBOARD, Action.VIEW_AUDIENCE)
    return json({"collaborators": [u.view() for u in await users.collaborators(t.store, event.id)]})


@routes.post("/api/v1/events/{event_id}/collaborators")
async def add_collaborator(request: web.Request) -> web.Response:
    t = tribune(request)
    p, event, _ = await for_event(request, t, DASHBOARD, Action.EDIT_EVENT)
    p.require_on_account(Action.MANAGE_ACCOUNT)
    form = await body(request, CollaboratorAdd)
    login_url = f"{t.config.base_url}/login"
    user = await users.invite_collaborator(
        t.store, audience(request).mail, p.account, event, form.email, form.name, p.who, login_url
    )
    return json({"user": user.view()}, status=201)


@routes.delete("/api/v1/events/{event_id}/collaborators/{user_id}")
async def remove_collaborator(request: web.Request) -> web.Response:
    t = tribune(request)
    p, event, _ = await for_event(request, t, DASHBOARD, Action.EDIT_EVENT)
    p.require_on_account(Action.MANAGE_ACCOUNT)
    await users.remove_collaborator(t.store, event, request.match_info["user_id"], p.who)
    await revoked(t, event.id)
    return web.json_response({"ok": True})
