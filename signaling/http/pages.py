"""What the server serves outside the API: the HTML pages in static/ (one place for their
security headers), the browser libraries from node_modules, static files, and the health
check."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from room.errors import Code, TribuneError
from signaling.context import tribune
from signaling.metrics import CONTENT_TYPE

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"
NODE_MODULES = ROOT / "node_modules"

VENDOR = {
    "socket.io.msgpack.min.js": NODE_MODULES / "socket.io-client/dist/socket.io.msgpack.min.js",
}
"""Browser libraries served under /vendor/, by file name."""
CHART_JS = NODE_MODULES / "chart.js" / "dist" / "chart.umd.min.js"

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
"""Scripts only from this server: user text that slipped into the DOM could not run."""

NOT_INSTALLED = "run `npm ci` to install the browser dependencies"

routes = web.RouteTableDef()


def page(name: str) -> web.FileResponse:
    return web.FileResponse(
        STATIC / f"{name}.html",
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": CSP,
            "Referrer-Policy": "no-referrer",
        },
    )


def library(path: Path | None) -> web.FileResponse:
    if path is None or not path.exists():
        raise web.HTTPNotFound(reason=NOT_INSTALLED)
    return web.FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})


PAGES = {
    "/": "index",
    "/room/{event_id}": "room",
    "/screen/{event_id}": "screen",
    "/manage/{event_id}": "manage",
    "/login": "login",
    "/dashboard": "dashboard",
    "/dashboard/team": "team",
    "/dashboard/billing": "billing",
    "/dashboard/credits": "credits",
    "/register/{event_id}": "register",
    "/stats/{event_id}": "stats",
    "/replay/{event_id}": "replay",
}
"""Each page's path and its file in static/ (without .html)."""


def _serve(name: str) -> Callable[[web.Request], Awaitable[web.FileResponse]]:
    async def serve(request: web.Request) -> web.FileResponse:
        return page(name)

    serve.__name__ = f"{name}_page"
    return serve


for _path, _name in PAGES.items():
    routes.get(_path)(_serve(_name))


@routes.get("/dashboard/vendor/chart.umd.min.js")
async def chart_js(request: web.Request) -> web.FileResponse:
    return library(CHART_JS)


@routes.get("/vendor/{name}")
async def vendor(request: web.Request) -> web.FileResponse:
    return library(VENDOR.get(request.match_info["name"]))


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """503 with the reason while this node should get no traffic: it is draining (a
    balancer sends new connections elsewhere), or its store is unreachable."""
    t = tribune(request)
    if t.hub is not None and t.hub.draining:
        return web.json_response({"ok": False, "error": "draining"}, status=503)
    if await t.store.ping():
        return web.json_response({"ok": True})
    return web.json_response({"ok": False, "error": "store unreachable"}, status=503)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """This node's figures in the Prometheus text format, for `--metrics-token` bearers;
    without the flag the route does not exist (404)."""
    t = tribune(request)
    token = t.config.metrics_token
    if not token or t.hub is None:
        raise web.HTTPNotFound()
    given = request.headers.get("Authorization", "").encode()
    if not hmac.compare_digest(given, f"Bearer {token}".encode()):
        raise TribuneError(Code.UNAUTHORIZED, "a valid metrics token is required")
    hub = t.hub
    sessions = {sid: (s.namespace, s.event_id) for sid, s in hub.sessions.items()}
    m = hub.fanout.metrics
    await m.refresh(t.store, sessions, list(hub.namespaces))
    return web.Response(body=m.exposition(), headers={"Content-Type": CONTENT_TYPE})


routes.static("/static/", STATIC, append_version=False)
