"""Every export over HTTP, as CSV or XLSX: an event's audience lists (registrations, guests,
activity, sessions, statistics) and moderation's (questions, polls, the audit trail)."""

from __future__ import annotations

from aiohttp import web

from moderation import tables
from room.audience import exports as xp
from room.errors import invalid, not_found
from room.events import load_event
from room.permissions import Action
from room.records import now
from signaling import tokens
from signaling.auth import Door, for_event
from signaling.context import tribune
from signaling.http.common import query_time, stream_table
from signaling.schemas.moderation import EXPORT_ACTION
from signaling.socket.audience import audience

routes = web.RouteTableDef()

AUDIENCE_EXPORTS: dict[str, Action] = {
    "registrations": Action.VIEW_AUDIENCE,
    "guests": Action.VIEW_AUDIENCE,
    "activity": Action.VIEW_AUDIENCE,
    "sessions": Action.VIEW_AUDIENCE,
    "statistics": Action.VIEW_STATS,
}
"""What each audience export needs the asker to be allowed."""


@routes.get("/api/v1/events/{event_id}/exports/{name}.{fmt}")
async def audience_export(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    action = AUDIENCE_EXPORTS.get(name)
    if action is None:
        raise not_found("export")
    try:
        fmt = xp.FileFormat(request.match_info["fmt"])
    except ValueError:
        raise invalid("export as csv or xlsx", "format") from None
    t = tribune(request)
    _, event, _ = await for_event(request, t, Door.DASHBOARD, action)
    table: xp.Table
    if name == "registrations":
        table = xp.registrations_table(t.store, event)
    elif name == "guests":
        table = xp.guests_table(t.store, event)
    elif name == "activity":
        table = xp.activity_table(t.store, event)
    elif name == "sessions":
        table = xp.sessions_table(t.store, event, now())
    else:
        table = xp.stats_table(
            t.store,
            event,
            audience(request).geo is not None,
            query_time(request, "from"),
            query_time(request, "to"),
        )
    return await stream_table(request, table, fmt, f"{event.id}-{name}")


@routes.get("/api/v1/events/{event_id}/{dataset:questions|audit|polls}.{fmt:csv|xlsx}")
async def moderation_export(request: web.Request) -> web.StreamResponse:
    """An export as a file; authorised by a Bearer credential or a signed `sig` link."""
    dataset = tables.Dataset(request.match_info["dataset"])
    fmt = xp.FileFormat(request.match_info["fmt"])
    event_id = request.match_info["event_id"]
    t = tribune(request)
    sig = request.query.get("sig")
    if sig is not None:
        await tokens.check_download(t.store, event_id, dataset.value, sig)
        event = await load_event(t.store, event_id)
    else:
        _, event, _ = await for_event(request, t, Door.STAFF, EXPORT_ACTION[dataset])
    table = tables.table(t.store, event.id, dataset)
    return await stream_table(request, table, fmt, f"{event.id}-{dataset.value}")
