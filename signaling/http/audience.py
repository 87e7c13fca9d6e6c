"""An event's audience over HTTP: registration, the access list and its guests, the direct
link, the activity log, sessions, statistics and certificates. Rules live in
`room.audience`; who may do what in `room.permissions` (asked through `signaling.auth`)."""

from __future__ import annotations

import msgspec
from aiohttp import web

from room import keys, ratelimit
from room.audience import access, certificates, registration, sessions
from room.audience import settings as audience_settings
from room.errors import TribuneError, invalid, not_found
from room.events import load_event, load_invitation
from room.permissions import Action
from room.ratelimit import RATES
from room.records import Invitation, now
from signaling.auth import Door, for_event
from signaling.context import Tribune, tribune
from signaling.http.common import (
    MB,
    TooBig,
    body,
    client_ip,
    first_page,
    join_link,
    json,
    paging,
    query_time,
    read_body,
)
from signaling.schemas.audience import (
    ActivityLine,
    CertificateLine,
    DirectLink,
    DirectLinkSet,
    GuestAdd,
    Registered,
    RegisteredPerson,
)
from signaling.socket.audience import audience

routes = web.RouteTableDef()
DASHBOARD = Door.DASHBOARD


def too_big(what: str) -> TooBig:
    def refuse(limit: int) -> TribuneError:
        return invalid(f"the {what} is larger than {limit // MB} MB", "file")

    return refuse


# -- registration ----------------------------------------------------------------------------


@routes.get("/api/v1/public/events/{event_id}/registration")
async def public_registration(request: web.Request) -> web.Response:
    event = await load_event(tribune(request).store, request.match_info["event_id"])
    return json(registration.public_form(event))


@routes.post("/api/v1/public/events/{event_id}/registrations")
async def register(request: web.Request) -> web.Response:
    t = tribune(request)
    await ratelimit.slow_down(
        t.store, keys.register_ip_scope(client_ip(request)), RATES.register_per_ip
    )
    event = await load_event(t.store, request.match_info["event_id"])
    form = await body(request, registration.RegistrationForm)
    reg, link = await registration.register_and_mail(
        t.store, audience(request).mail, event, form, lambda inv: join_link(t, inv)
    )
    answer = Registered(
        registration=RegisteredPerson(reg.id, reg.email, reg.name),
        link=link,
        certificate=registration.certificate_enabled(event),
        message="You are registered. Your personal link was also sent to your e-mail.",
    )
    return json(answer, status=201)


@routes.get("/api/v1/events/{event_id}/registrations")
async def list_registrations(request: web.Request) -> web.Response:
    t = tribune(request)
    _, event, _ = await for_event(request, t, DASHBOARD, Action.VIEW_AUDIENCE)
    offset, limit = paging(request, 100)
    out = await first_page(registration.pages(t.store, event.id, page=limit, start=offset))
    return json({"registrations": out, "count": await registration.count(t.store, event.id)})


# -- access list --------------------------------------------------------------------------------


@routes.get("/api/v1/events/{event_id}/guests")
async def list_guests(request: web.Request) -> web.Response:
    t = tribune(request)
    _, event, _ = await for_event(request, t, DASHBOARD, Action.VIEW_AUDIENCE)
    offset, limit = paging(request, 100)
    out = await first_page(access.guest_pages(t.store, event.id, page=limit, start=offset))
    return json({"guests": out, "count": await access.guest_count(t.store, event.id)})


@routes.post("/api/v1/events/{event_id}/guests")
async def add_guest(request: web.Request) -> web.Response:
    t = tribune(request)
    p, event, _ = await for_event(request, t, DASHBOARD, Action.EDIT_EVENT)
    form = await body(request, GuestAdd)
    guest = await access.add_guest(t.store, event, form.email, form.name, p.who)
    inv = await load_invitation(t.store, event.id, guest.invitation_id)
    return json({"guest": guest, "link": join_link(t, inv)}, status=201)


@routes.post("/api/v1/events/{event_id}/guests/import")
async def import_guests(request: web.Request) -> web.Response:
    """Body: the CSV file itself (UTF-8, at most 10 MB; an `email` column, `name` optional)."""
    t = tribune(request)
    p, event, _ = await for_event(request, t, DASHBOARD, Action.EDIT_EVENT)
    data = await read_body(request, access.MAX_IMPORT_BYTES, too_big("file"))
    report = await access.import_guests(t.store, event, data, p.who)
    return web.json_response(report.view())


@routes.delete("/api/v1/events/{event_id}/guests")
async def delete_guests(request: web.Request) -> web.Response:
    t = tribune(request)
    p, event, _ = await for_event(request, t, DASHBOARD, Action.EDIT_EVENT)
    return web.json_response({"deleted": await access.delete_all(t.store, event, p.who)})


@routes.get("/api/v1/events/{event_id}/activity")
async def activity(request: web.Request) -> web.Response:
    t = tribune(request)
    _, event, _ = await for_event(request, t, DASHBOARD, Action.VIEW_AUDIENCE)
    offset, limit = paging(request, 200)
    items = await access.activity(t.store, event.id, offset, limit)
    lines = [ActivityLine(a.at, a.who, a.action, a.detail) for a in items]
    return json({"activity": lines})


def direct_link_view(t: Tribune, inv: Invitation | None) -> DirectLink:
    return DirectLink(enabled=inv is not None, url=None if inv is None else join_link(t, inv))


@routes.get("/api/v1/events/{event_id}/direct-link")
async def get_direct_link(request: web.Request) -> web.Response:
    t = tribune(request)
    _, event, _ = await for_event(request, t, DASHBOARD, Action.VIEW_AUDIENCE)
    return json(direct_link_view(t, await access.direct_link(t.store, event)))


@routes.put("/api/v1/events/{event_id}/direct-link")
async def put_direct_link(request: web.Request) -> web.Response:
    t = tribune(request)
    p, event, _ = await for_event(request, t, DASHBOARD, Action.EDIT_EVENT)
    form = await body(request, DirectLinkSet)
    inv = await access.set_direct_link(t.store, event, form.enabled, p.who)
    return json(direct_link_view(t, inv))


# -- sessions and statistics ---------------------------------------------------------------------


@routes.get("/api/v1/events/{event_id}/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    t = tribune(request)
    _, event, _ = await for_event(request, t, DASHBOARD, Action.VIEW_AUDIENCE)
    offset, limit = paging(request, 100)
    at = now()
    page = await sessions.slice_of(t.store, event.id, offset, limit)
    return web.json_response(
        {
            "sessions": [{**msgspec.structs.asdict(s), "duration": s.duration(at)} for s in page],
            "count": await sessions.count(t.store, event.id),
        }
    )


@routes.get("/api/v1/events/{event_id}/stats")
async def get_stats(request: web.Request) -> web.Response:
    t = tribune(request)
    _, event, _ = await for_event(request, t, DASHBOARD, Action.VIEW_STATS)
    figures = await audience(request).stats(
        event, query_time(request, "from"), query_time(request, "to")
    )
    return json({"stats": figures})


# -- certificates --------------------------------------------------------------------------------


@routes.get("/api/v1/events/{event_id}/certificates")
async def list_certificates(request: web.Request) -> web.Response:
    t = tribune(request)
    _, event, _ = await for_event(request, t, DASHBOARD, Action.VIEW_STATS)
    lines = [
        CertificateLine(
            id=c.id,
            email=c.email,
            name=c.name,
            issued_at=c.issued_at,
            seconds=c.seconds,
            url=f"/api/v1/events/{event.id}/certificates/{c.id}.pdf",
        )
        for c in await certificates.issued(t.store, event.id)
    ]
    return json({"certificates": lines})


@routes.get("/api/v1/events/{event_id}/certificates/{cert_id}.pdf")
async def certificate_pdf(request: web.Request) -> web.Response:
    t = tribune(request)
    _, event, _ = await for_event(request, t, DASHBOARD, Action.VIEW_STATS)
    cert = await certificates.load(t.store, event.id, request.match_info["cert_id"])
    pdf = await certificates.render(t.store, event, cert)
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="certificate-{cert.id}.pdf"'},
    )


def image_kind(request: web.Request) -> certificates.ImageKind:
    try:
        return certificates.ImageKind(request.match_info["kind"])
    except ValueError:
        raise not_found("certificate image") from None


@routes.put("/api/v1/events/{event_id}/certificate/{kind}")
async def put_certificate_image(request: web.Request) -> web.Response:
    """Body: the PNG or JPEG image (at most 1 MB) of the logo or the signature."""
    t = tribune(request)
    p, event, _ = await for_event(request, t, DASHBOARD, Action.EDIT_EVENT)
    kind = image_kind(request)
    data = await read_body(request, certificates.MAX_IMAGE, too_big("image"))
    await audience_settings.set_certificate_image(t.store, event, kind, data, p.who)
    return web.json_response({"ok": True, "bytes": len(data)})


@routes.get("/api/v1/events/{event_id}/certificate/{kind}")
async def get_certificate_image(request: web.Request) -> web.Response:
    t = tribune(request)
    _, event, _ = await for_event(request, t, DASHBOARD, Action.VIEW_AUDIENCE)
    data = await certificates.get_image(t.store, event.id, image_kind(request))
    if data is None:
        raise not_found("certificate image")
    return web.Response(body=data, content_type=certificates.sniff_image(data))
