"""JSON errors for the API: a `TribuneError` becomes its code and message with its HTTP status."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from room.errors import Code, TribuneError
from signaling.context import KEY
from signaling.outage import OutageLog, is_store_outage, unavailable

log = logging.getLogger(__name__)

HTTP_CODES = {404: Code.NOT_FOUND, 405: Code.INVALID, 413: Code.INVALID}
"""aiohttp's own refusals under /api/, as Tribune's codes (any other: invalid)."""


def error_response(err: TribuneError, request: web.Request | None = None) -> web.Response:
    hub = request.app[KEY].hub if request is not None and KEY in request.app else None
    if hub is not None:
        hub.fanout.metrics.refused(err.code.value)
    return web.json_response({"error": err.to_wire()}, status=err.http_status)


def _outage(request: web.Request) -> OutageLog | None:
    """The node's one outage log (the hub's fan-out keeps it), once the hub runs."""
    hub = request.app[KEY].hub if KEY in request.app else None
    return None if hub is None else hub.fanout.outage


@web.middleware
async def errors_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every failure as a JSON error; a store outage as `unavailable` (503), logged once per
    outage, never with a traceback."""
    try:
        response = await handler(request)
    except TribuneError as err:
        return error_response(err, request)
    except web.HTTPException as exc:
        if not request.path.startswith("/api/") or exc.status < 400:
            raise
        code = HTTP_CODES.get(exc.status, Code.INVALID)
        return web.json_response(
            {"error": {"code": code.value, "message": exc.reason}}, status=exc.status
        )
    except Exception as exc:
        if is_store_outage(exc):
            outage = _outage(request)
            if outage is not None:
                outage.failed(exc)
            return error_response(unavailable(), request)
        log.exception("request %s %s failed", request.method, request.path)
        return error_response(TribuneError(Code.INTERNAL, "internal error"))
    outage = _outage(request)
    if outage is not None and request.path.startswith("/api/") and response.status < 500:
        outage.answered()  # every API route reads its caller from the store
    return response
