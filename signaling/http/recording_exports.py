"""A recording's MP4 export over HTTP: start it, and download the MP4 (issue 12).

Both take the account's API key or a dashboard session (`Door.DASHBOARD`) with the
`record` action, like the recordings' listing. The job runs in this node's runner
(`signaling/export_jobs.py`); its state shows in the listing (`export`). These routes
are added before `recordings`' track files, whose `{file}` would match `export.mp4`."""

from __future__ import annotations

from aiohttp import web

from room import recording_exports, recordings
from room.permissions import Action
from room.recording_exports import Export, ExportState
from signaling.auth import Door, for_event
from signaling.context import tribune
from signaling.export_jobs import folder, runner
from signaling.http.common import json
from signaling.schemas.recording import ExportAnswer, ExportView

routes = web.RouteTableDef()


def export_url(event_id: str, recording_id: str) -> str:
    return f"/api/v1/events/{event_id}/recordings/{recording_id}/{recording_exports.FILE}"


def export_view(event_id: str, recording_id: str, export: Export) -> ExportView:
    done = export.state is ExportState.DONE
    return ExportView(
        state=export.state.value,
        progress=round(export.progress, 3),
        url=export_url(event_id, recording_id) if done else "",
        size_bytes=export.size_bytes if done else 0,
        error=export.error,
    )


@routes.post("/api/v1/events/{event_id}/recordings/{recording_id}/export")
async def start_export(request: web.Request) -> web.Response:
    t = tribune(request)
    _, event, role = await for_event(request, t, Door.DASHBOARD, Action.RECORD)
    recording_id = request.match_info["recording_id"]
    export = await runner(request).request(event, recording_id, role)
    return json(ExportAnswer(export_view(event.id, recording_id, export)), status=202)


@routes.get("/api/v1/events/{event_id}/recordings/{recording_id}/export.mp4")
async def export_file(request: web.Request) -> web.StreamResponse:
    t = tribune(request)
    _, event, _ = await for_event(request, t, Door.DASHBOARD, Action.RECORD)
    recording_id = request.match_info["recording_id"]
    rec = await recordings.get(t.store, event.id, recording_id)
    export = await recording_exports.get(t.store, event.id, recording_id)
    if rec is None or export is None or export.state is not ExportState.DONE:
        raise web.HTTPNotFound()
    path = folder(t, event.id, rec.id) / recording_exports.FILE
    if not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "video/mp4",
            "Content-Disposition": f'attachment; filename="{rec.id}.mp4"',
            "X-Content-Type-Options": "nosniff",
        },
    )
