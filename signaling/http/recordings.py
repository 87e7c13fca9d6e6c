"""Recordings over HTTP: the list of an event's recordings (with their MP4 export's
state: `signaling/http/recording_exports.py`) and their tracks' files.

Both take the account's API key or a dashboard session (`Door.DASHBOARD`) with the
`record` action. The files are read from this node's `<data_dir>/recordings/`: the
media owner's (one shared data directory when several nodes run)."""

from __future__ import annotations

from aiohttp import web

from room import recording_exports, recordings
from room.permissions import Action
from room.recordings import Recording
from signaling.auth import Door, for_event
from signaling.context import Tribune, tribune
from signaling.export_jobs import runner
from signaling.http.common import json
from signaling.http.recording_exports import export_view
from signaling.schemas.recording import PartView, RecordingList, RecordingView, TrackLink

routes = web.RouteTableDef()


def track_url(event_id: str, recording_id: str, file: str) -> str:
    return f"/api/v1/events/{event_id}/recordings/{recording_id}/{file}"


@routes.get("/api/v1/events/{event_id}/recordings")
async def list_recordings(request: web.Request) -> web.Response:
    t = tribune(request)
    _, event, _ = await for_event(request, t, Door.DASHBOARD, Action.RECORD)
    exports = await recording_exports.all_for(t.store, event.id)
    now, mine = await t.store.now(), runner(request).id
    views = [
        RecordingView(
            id=r.id,
            started_at=r.started_at,
            duration_s=round(r.duration_s, 3),
            size_bytes=r.size_bytes,
            tracks=[
                TrackLink(tr.kind, tr.codec, tr.person, track_url(event.id, r.id, tr.file), tr.part)
                for tr in r.tracks
            ],
            parts=[PartView(p.index, p.started, p.stopped, p.size_bytes) for p in r.parts],
            export=None
            if r.id not in exports
            else export_view(event.id, r.id, recording_exports.seen(exports[r.id], mine, now)),
        )
        for r in await recordings.list_for(t.store, event.id)
    ]
    return json(RecordingList(views))


@routes.get("/api/v1/events/{event_id}/recordings/{recording_id}/{file}")
async def track_file(request: web.Request) -> web.StreamResponse:
    t = tribune(request)
    _, event, _ = await for_event(request, t, Door.DASHBOARD, Action.RECORD)
    rec = await recordings.get(t.store, event.id, request.match_info["recording_id"])
    name = request.match_info["file"]
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    return track_file_response(t, rec, name, disposition)


def track_file_response(
    t: Tribune, rec: Recording | None, name: str, headers: dict[str, str]
) -> web.FileResponse:
    """One of a recording's track files (WebM, or Matroska for H.264), if its record names
    it: never a path of the caller's. Used by the downloads and by the replay."""
    if rec is None or name not in {tr.file for tr in rec.tracks}:
        raise web.HTTPNotFound()
    path = t.config.recording_dir(rec.event_id, rec.id) / name
    if not path.is_file():
        raise web.HTTPNotFound()
    kind = "video/x-matroska" if name.endswith(".mkv") else "video/webm"
    return web.FileResponse(
        path, headers={"Content-Type": kind, "X-Content-Type-Options": "nosniff", **headers}
    )
