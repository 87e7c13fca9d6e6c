"""The HTTP API under /api/v1: events, invitations, roster; JSON errors with codes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from aiohttp import web

from room import events as ev
from room.accounts.account import account_by_key
from room.errors import Code, TribuneError, invalid
from room.presence import roster
from room.records import Account, Event, Invitation
from signaling.context import Tribune, tribune

log = logging.getLogger(__name__)
T = TypeVar("T")

routes = web.RouteTableDef()


def error_response(err: TribuneError) -> web.Response:
    return web.json_response({"error": err.to_wire()}, status=err.http_status)


@web.middleware
async def errors_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except TribuneError as err:
        return error_response(err)
    except web.HTTPException as exc:
        if not request.path.startswith("/api/") or exc.status < 400:
            raise
        code = {404: Code.NOT_FOUND, 405: Code.INVALID, 413: Code.INVALID}.get(
            exc.status, Code.INVALID
        )
        return web.json_response(
            {"error": {"code": code.value, "message": exc.reason}}, status=exc.status
        )
    except Exception:
        log.exception("request %s %s failed", request.method, request.path)
        return error_response(TribuneError(Code.INTERNAL, "internal error"))


async def body(request: web.Request, schema: type[T]) -> T:
    raw = await request.read()
    if not raw:
        raise invalid("a JSON body is required")
    try:
        return msgspec.json.decode(raw, type=schema, strict=True)
    except msgspec.ValidationError as exc:
        text = str(exc)
        field = text.split("at `$.", 1)[1].split("`", 1)[0] if "at `$." in text else None
        if field is None and "field `" in text:
            field = text.split("field `", 1)[1].split("`", 1)[0]
        raise invalid(text[:300], field) from None
    except msgspec.DecodeError as exc:
        raise invalid(f"malformed JSON: {exc}"[:300]) from None


async def account_of(request: web.Request) -> Account:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key:
        raise TribuneError(Code.UNAUTHORIZED, "send the account's API key as a Bearer token")
    account = await account_by_key(tribune(request).store, key.strip())
    if account is None:
        raise TribuneError(Code.UNAUTHORIZED, "unknown API key")
    return account


async def own_event(request: web.Request) -> tuple[Tribune, Account, Event]:
    t = tribune(request)
    account = await account_of(request)
    event = await ev.get_event(t.store, account, request.match_info["event_id"])
    return t, account, event


def link(t: Tribune, inv: Invitation) -> dict[str, Any]:
    token = t.tokens.sign(inv.event_id, inv.id, inv.role, inv.gen)
    return {"invitation": msgspec.to_builtins(inv), "token": token, "url": t.url_for(inv, token)}


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    if await tribune(request).store.ping():
        return web.json_response({"ok": True})
    return web.json_response({"ok": False, "error": "store unreachable"}, status=503)


@routes.get("/api/v1/account")
async def get_account(request: web.Request) -> web.Response:
    account = await account_of(request)
    return web.json_response(msgspec.to_builtins(account))


@routes.get("/api/v1/events")
async def list_events(request: web.Request) -> web.Response:
    account = await account_of(request)
    events = await ev.list_events(tribune(request).store, account)
    return web.json_response({"events": [msgspec.to_builtins(e) for e in events]})


@routes.post("/api/v1/events")
async def create_event(request: web.Request) -> web.Response:
    account = await account_of(request)
    fields = await body(request, ev.EventCreate)
    event = await ev.create_event(tribune(request).store, account, fields)
    return web.json_response(msgspec.to_builtins(event), status=201)


@routes.get("/api/v1/events/{event_id}")
async def get_event(request: web.Request) -> web.Response:
    _, _, event = await own_event(request)
    return web.json_response(msgspec.to_builtins(event))


@routes.patch("/api/v1/events/{event_id}")
async def update_event(request: web.Request) -> web.Response:
    t, account, event = await own_event(request)
    fields = await body(request, ev.EventUpdate)
    updated = await ev.update_event(t.store, account, event.id, fields)
    return web.json_response(msgspec.to_builtins(updated))


@routes.delete("/api/v1/events/{event_id}")
async def delete_event(request: web.Request) -> web.Response:
    t, account, event = await own_event(request)
    await ev.delete_event(t.store, account, event.id)
    return web.json_response({"ok": True})


@routes.post("/api/v1/events/{event_id}/invitations")
async def create_invitation(request: web.Request) -> web.Response:
    t, _, event = await own_event(request)
    fields = await body(request, ev.InvitationCreate)
    inv = await ev.invite(t.store, event, fields)
    return web.json_response(link(t, inv), status=201)


@routes.get("/api/v1/events/{event_id}/invitations")
async def list_invitations(request: web.Request) -> web.Response:
    t, _, event = await own_event(request)
    invs = await ev.list_invitations(t.store, event.id)
    return web.json_response({"invitations": [msgspec.to_builtins(i) for i in invs]})


@routes.post("/api/v1/events/{event_id}/invitations/{inv_id}/reissue")
async def reissue_invitation(request: web.Request) -> web.Response:
    t, _, event = await own_event(request)
    inv = await ev.reissue(t.store, event, request.match_info["inv_id"])
    return web.json_response(link(t, inv))


@routes.get("/api/v1/events/{event_id}/roster")
async def get_roster(request: web.Request) -> web.Response:
    t, _, event = await own_event(request)
    people = await roster.people(t.store, event.id)
    return web.json_response({"roster": [p.view() for p in people], "count": len(people)})
