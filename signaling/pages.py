"""Serving the HTML pages in static/: one place for their security headers."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
NODE_MODULES = ROOT / "node_modules"

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
"""Scripts only from this server: user text that slipped into the DOM could not run."""


def page(name: str) -> web.FileResponse:
    return web.FileResponse(
        STATIC / f"{name}.html",
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": CSP,
            "Referrer-Policy": "no-referrer",
        },
    )
