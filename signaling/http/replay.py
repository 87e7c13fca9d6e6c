"""The replay over HTTP: an on-demand event's recordings and timeline for the replay page,
and their track files.

The data route takes the same links that let people into the live room (`Action.JOIN`:
a personal or shared link, a registrant's link; as `Authorization: Bearer <link token>`,
checked with its generation and bans by `signaling.auth`) or the account's API key. The
track files are read through short-lived signed URLs that route hands out (a `<video>`
element cannot send a header), signed by `signaling.tokens` for one recording."""

from __future__ import annotations

from aiohttp import web

from room import recordings, replay
from room.events import load_event
from room.permissions import Action
from signaling import tokens
from signaling.auth import Door, for_event
from signaling.context import tribune
from signaling.http.common import json
from signaling.http.recordings import track_file_response
from signaling.schemas.replay import (
    ReplayEntryView,
    ReplayEventView,
    ReplayRecordingView,
    ReplayTrackView,
    ReplayView,
)

routes = web.RouteTableDef()

FILE_TTL = 12 * 3600
"""Seconds a replay's signed file URLs work (a page asks for new ones when it reloads)."""


def _dataset(recording_id: str) -> str:
    return f"replay:{recording_id}"


@routes.get("/api/v1/replay/{event_id}")
async def replay_data(request: web.Request) -> web.Response:
    t = tribune(request)
    p, event, _ = await for_event(request, t, Door.STAFF, Action.JOIN)
    views = []
    for rec in await replay.recordings_of(t.store, event):
        sig = await tokens.sign_download(t.store, event.id, _dataset(rec.id), p.who, FILE_TTL)
        base = f"/api/v1/replay/{event.id}/{rec.id}"
        views.append(
            ReplayRecordingView(
                id=rec.id,
                duration_s=rec.duration_s,
                tracks=[
                    ReplayTrackView(
                        tr.kind,
                        tr.codec,
                        tr.person,
                        tr.source,
                        f"{base}/{tr.file}?sig={sig}",
                        tr.offset,
                        tr.duration,
                    )
                    for tr in rec.tracks
                ],
                timeline=[ReplayEntryView(e.t, e.kind, e.data) for e in rec.timeline],
            )
        )
    return json(ReplayView(ReplayEventView(event.id, event.title, event.state.value), views))


@routes.get("/api/v1/replay/{event_id}/{recording_id}/{file}")
async def replay_file(request: web.Request) -> web.StreamResponse:
    t = tribune(request)
    m = request.match_info
    event_id, rec_id, name = m["event_id"], m["recording_id"], m["file"]
    await tokens.check_download(t.store, event_id, _dataset(rec_id), request.query.get("sig", ""))
    replay.require_replay(await load_event(t.store, event_id))
    rec = await recordings.get(t.store, event_id, rec_id)
    if rec is not None and not replay.playable([rec]):
        rec = None
    return track_file_response(t, rec, name, {"Cache-Control": "private, max-age=3600"})
