"""Slides over HTTP: uploading a deck (a PDF or images) and serving its slide images.
Rules live in `moderation.slides`; the rendering in `moderation.render`."""

from __future__ import annotations

import asyncio

from aiohttp import BodyPartReader, web

from moderation import render, slides
from moderation.limits import LIMITS
from room.errors import Code, TribuneError, invalid
from room.events import load_event
from room.permissions import Action
from room.types import Role
from signaling import auth, tokens
from signaling.auth import Door, for_event, person_of
from signaling.context import tribune
from signaling.http.common import MB, json, read_body, read_limited

routes = web.RouteTableDef()


def too_big(limit: int) -> TribuneError:
    return invalid(f"uploads are limited to {limit // MB} MiB", "file")


async def uploaded_files(request: web.Request) -> tuple[list[bytes], list[str]]:
    """The files of a multipart upload (every part, in order), or the raw body as one file."""
    limit = LIMITS.slide_upload_bytes
    if not request.content_type.startswith("multipart/"):
        data = await read_body(request, limit, too_big)
        return ([data] if data else []), ["upload"]
    files: list[bytes] = []
    names: list[str] = []
    reader = await request.multipart()
    total = 0
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise invalid("nested multipart is not accepted", "file")
        data = await read_limited(part.read_chunk, limit - total, too_big)
        total += len(data)
        if data:
            files.append(data)
            names.append((part.filename or part.name or "")[:200])
    return files, names


@routes.post("/api/v1/events/{event_id}/slides")
async def upload_slides(request: web.Request) -> web.Response:
    """Upload a PDF or images as the event's slide deck (replaces the previous one)."""
    t = tribune(request)
    p, event, role = await for_event(request, t, Door.STAFF, Action.DRIVE_SLIDES)
    files, names = await uploaded_files(request)
    if not files:
        raise invalid("upload a PDF or at least one image", "file")
    images = await asyncio.to_thread(render.render, files)
    who = await person_of(t.store, p, event, role)

    async def sign(deck_id: str) -> str:
        return await tokens.sign_slides(t.store, event.id, deck_id)

    out = await slides.replace_deck(t.store, event.id, who, images, names, sign)
    assert t.hub is not None
    return json(await t.hub.fanout.outcome(event.id, out), status=201)


@routes.get(r"/slides/{event_id}/{deck}/{index:\d{1,9}}")
async def slide_image(request: web.Request) -> web.Response:
    """A slide image, for a link of the event: the deck's signed link (`?sig=`, what the pages
    get with the slide position), or `Authorization: Bearer` an API key or a link token.
    Which pages each may read is `moderation.slides.readable`'s rule."""
    t = tribune(request)
    m = request.match_info
    event_id, deck_id, index = m["event_id"], m["deck"], int(m["index"])
    role: Role | None = None
    sig = request.query.get("sig")
    if sig is not None:
        await tokens.check_slides(t.store, event_id, deck_id, sig)
    else:
        p = await auth.principal(request, t, Door.STAFF)
        try:
            role = p.role_in(await load_event(t.store, event_id))
        except TribuneError:
            role = None
        if role is None:
            raise web.HTTPNotFound()
    try:
        data = await slides.image(t.store, event_id, deck_id, index, role)
    except TribuneError as err:
        if err.code is Code.NOT_FOUND:
            raise web.HTTPNotFound() from None
        raise
    return web.Response(
        body=data,
        content_type="image/jpeg",
        headers={
            "Cache-Control": "private, max-age=86400",
            "X-Content-Type-Options": "nosniff",
        },
    )
