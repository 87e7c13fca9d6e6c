"""JSON errors for the API: a `TribuneError` becomes its code and message with its HTTP status."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from room.errors import Code, TribuneError

log = logging.getLogger(__name__)

HTTP_CODES = {404: Code.NOT_FOUND, 405: Code.INVALID, 413: Code.INVALID}
"""aiohttp's own refusals under /api/, as Tribune's codes (any other: invalid)."""


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
        code = HTTP_CODES.get(exc.status, Code.INVALID)
        return web.json_response(
            {"error": {"code": code.value, "message": exc.reason}}, status=exc.status
        )
    except Exception:
        log.exception("request %s %s failed", request.method, request.path)
        return error_response(TribuneError(Code.INTERNAL, "internal error"))
