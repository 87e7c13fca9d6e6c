"""Moderation over HTTP: the manager page, exports of questions, polls and the audit trail,
slide upload and slide images (docs/api.md). Rules live in `moderation/`."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import BodyPartReader, web

from moderation import render, slides, tables
from moderation.limits import LIMITS
from room import events as ev
from room.accounts.account import account_by_key
from room.audience import exports as xp
from room.errors import Code, TribuneError, invalid
from room.events import load_event
from room.permissions import Action, require
from room.presence import roster
from room.records import Event, Person, now
from room.types import Role
from signaling import auth
from signaling.context import Tribune, tribune
from signaling.pages import page
from signaling.schemas.moderation import EXPORT_ACTION


async def actor(request: web.Request, action: Action) -> tuple[Tribune, Event, Person]:
    """Who makes an HTTP request about an event: the account (API key) or a staff link token,
    both as `Authorization: Bearer ...`; the link's role must allow `action`."""
    t = tribune(request)
    event_id = request.match_info["event_id"]
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise TribuneError(
            Code.UNAUTHORIZED, "send the account's API key or a staff link token as a Bearer token"
        )
    account = await account_by_key(t.store, credential)
    if account is not None:
        event = await ev.get_event(t.store, account, event_id)
        who = Person(
            identity=f"account:{account.id}",
            name=account.name,
            role=Role.ORGANIZER,
            base_role=Role.ORGANIZER,
            joined_at=now(),
        )
        return t, event, who
    claims = t.tokens.verify(credential)
    if claims.event_id != event_id:
        raise TribuneError(Code.FORBIDDEN, "this link is for another event")
    try:
        inv = await ev.load_invitation(t.store, event_id, claims.invitation)
    except TribuneError:
        raise TribuneError(Code.UNAUTHORIZED, "this link was withdrawn") from None
    if inv.gen != claims.gen:
        raise TribuneError(Code.UNAUTHORIZED, "this link was re-issued; use the new one")
    require(inv.role, action)
    event = await load_event(t.store, event_id)
    person = await roster.get_person(t.store, event_id, inv.id)
    who = person or Person(
        identity=inv.id, name=inv.name or inv.role.value, role=inv.role, base_role=inv.role
    )
    return t, event, who


routes = web.RouteTableDef()


@routes.get("/manage/{event_id}")
async def manage_page(request: web.Request) -> web.FileResponse:
    return page("manage")


@routes.get("/api/v1/events/{event_id}/{dataset:questions|audit|polls}.{fmt:csv|xlsx}")
async def export(request: web.Request) -> web.Response:
    """An export as a file; authorised by a Bearer credential or a signed `sig` link."""
    dataset = tables.Dataset(request.match_info["dataset"])
    fmt = xp.FileFormat(request.match_info["fmt"])
    event_id = request.match_info["event_id"]
    sig = request.query.get("sig")
    if sig is not None:
        t = tribune(request)
        await auth.check_download(t.store, event_id, dataset.value, sig)
        event = await load_event(t.store, event_id)
    else:
        t, event, _ = await actor(request, EXPORT_ACTION[dataset])
    body = await xp.to_bytes(tables.table(t.store, event.id, dataset), fmt)
    return web.Response(
        body=body,
        headers={
            "Content-Type": xp.MEDIA_TYPE[fmt],
            "Content-Disposition": f'attachment; filename="{event.id}-{dataset.value}.{fmt.value}"',
            "Cache-Control": "no-store",
        },
    )


async def _read_limited(read: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await read(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise invalid(f"uploads are limited to {limit // (1024 * 1024)} MiB", "file")
        chunks.append(chunk)


async def _uploaded_files(request: web.Request) -> tuple[list[bytes], list[str]]:
    """The files of a multipart upload (every part, in order), or the raw body as one file."""
    limit = LIMITS.slide_upload_bytes
    if request.content_type.startswith("multipart/"):
        files: list[bytes] = []
        names: list[str] = []
        reader = await request.multipart()
        total = 0
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                raise invalid("nested multipart is not accepted", "file")
            data = await _read_limited(part.read_chunk, limit - total)
            total += len(data)
            if data:
                files.append(data)
                names.append((part.filename or part.name or "")[:200])
        return files, names
    data = await _read_limited(request.content.read, limit)
    return ([data] if data else []), ["upload"]


@routes.post("/api/v1/events/{event_id}/slides")
async def upload_slides(request: web.Request) -> web.Response:
    """Upload a PDF or images as the event's slide deck (replaces the previous one)."""
    t, event, who = await actor(request, Action.DRIVE_SLIDES)
    files, names = await _uploaded_files(request)
    if not files:
        raise invalid("upload a PDF or at least one image", "file")
    images = await asyncio.to_thread(render.render, files)
    out = await slides.replace_deck(t.store, event.id, who, images, names)
    assert t.hub is not None
    ack = await t.hub.fanout.outcome(event.id, out)
    return web.json_response(ack, status=201)


@routes.get(r"/slides/{event_id}/{deck}/{index:\d+}")
async def slide_image(request: web.Request) -> web.Response:
    m = request.match_info
    try:
        data = await slides.image(tribune(request).store, m["event_id"], m["deck"], int(m["index"]))
    except TribuneError:
        raise web.HTTPNotFound() from None
    return web.Response(
        body=data,
        content_type="image/jpeg",
        headers={
            "Cache-Control": "public, max-age=86400, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )
