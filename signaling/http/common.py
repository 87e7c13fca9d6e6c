"""What the HTTP routes share: JSON bodies and views, query parameters, size-limited reads,
streamed table downloads, the client's address, and join links."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from aiohttp import web

from room.audience import exports as xp
from room.errors import TribuneError, invalid
from room.records import Invitation
from signaling import forwarded
from signaling.context import Tribune, tribune
from signaling.schemas.validation import validate

T = TypeVar("T")

PAGE_LIMIT = 500
"""The most rows one page of a listing may ask for."""
MB = 1024 * 1024


async def body(request: web.Request, schema: type[T], declared: bool = False) -> T:
    """The request's JSON body as `schema`, or `invalid` naming the field at fault.
    `declared`: the body must also be sent as `Content-Type: application/json` (what a
    cross-site form cannot do)."""
    if declared and request.content_type != "application/json":
        raise invalid("send the body as Content-Type: application/json")
    raw = await request.read()
    if not raw:
        raise invalid("a JSON body is required")
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise invalid(f"malformed JSON: {exc}"[:300]) from None
    return validate(data, schema)


def json(view: Any, status: int = 200) -> web.Response:
    """A JSON answer from a view Struct (or plain data), as `json.dumps` writes it."""
    return web.json_response(msgspec.to_builtins(view), status=status)


def query_int(request: web.Request, name: str, default: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"{name} must be a whole number", name) from None
    if value < 0 or value > high:
        raise invalid(f"{name} must be between 0 and {high}", name)
    return value


def paging(request: web.Request, default: int) -> tuple[int, int]:
    """A listing's `offset` and `limit` query parameters (`default` rows per page)."""
    return query_int(request, "offset", 0, 10**9), query_int(request, "limit", default, PAGE_LIMIT)


async def first_page(pages: AsyncIterator[list[T]]) -> list[T]:
    """The first page of a paged listing (the rest is never read)."""
    async for page in pages:
        return page
    return []


def query_time(request: web.Request, name: str) -> float | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise invalid(f"{name} must be a Unix time in seconds", name) from None


Read = Callable[[int], Awaitable[bytes]]
TooBig = Callable[[int], TribuneError]
"""The refusal of a read over its limit, given the limit."""


async def read_limited(read: Read, limit: int, too_big: TooBig) -> bytes:
    """Everything `read` gives (a request body, a multipart part), refused whole as soon as
    it passes `limit` bytes: an upload is never held in memory beyond its limit."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise too_big(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_body(request: web.Request, limit: int, too_big: TooBig) -> bytes:
    """The raw request body, refused at once when its announced length is over `limit`."""
    if request.content_length is not None and request.content_length > limit:
        raise too_big(limit)
    return await read_limited(request.content.read, limit, too_big)


async def stream_table(
    request: web.Request, table: xp.Table, fmt: xp.FileFormat, filename: str
) -> web.StreamResponse:
    """Send a table as a CSV or XLSX download without holding it in memory."""
    headers = {
        "Content-Type": xp.MEDIA_TYPE[fmt],
        "Content-Disposition": f'attachment; filename="{filename}.{fmt.value}"',
        "Cache-Control": "no-store",
    }
    if fmt is xp.FileFormat.CSV:
        resp = web.StreamResponse(headers=headers)
        await resp.prepare(request)
        async for chunk in xp.csv_chunks(table):
            await resp.write(chunk)
        await resp.write_eof()
        return resp
    with tempfile.TemporaryDirectory(prefix="tribune-export-") as tmp:
        path = Path(tmp) / "export.xlsx"
        await xp.write_xlsx(table, path)
        headers["Content-Length"] = str(path.stat().st_size)
        resp = web.StreamResponse(headers=headers)
        await resp.prepare(request)
        with path.open("rb") as f:
            while chunk := await asyncio.to_thread(f.read, 256 * 1024):
                await resp.write(chunk)
        await resp.write_eof()
        return resp


def client_ip(request: web.Request) -> str:
    """The client's address, which every limit keyed on an address uses: the TCP peer, or
    behind a trusted proxy (`--trusted-proxy`) the one its X-Forwarded-For names."""
    peer = request.remote or "unknown"
    trusted = tribune(request).config.proxy_networks
    return forwarded.client_address(peer, request.headers.getall(forwarded.HEADER, []), trusted)


def join_link(t: Tribune, inv: Invitation) -> str:
    """The link that opens an invitation's page, with its signed token."""
    return t.url_for(inv, t.tokens.sign_invitation(inv))


def secure_site(request: web.Request, t: Tribune) -> bool:
    """Whether the site is served over HTTPS (directly, or behind the public URL)."""
    return request.secure or t.config.base_url.startswith("https://")
