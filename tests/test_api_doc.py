"""docs/api.md documents every HTTP route the app serves, and only those."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

from signaling.app import build_app
from signaling.config import Config

API_DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"

HEADING = re.compile(r"^### `([A-Z]+) (/\S*)`$", re.MULTILINE)
"""A route's entry in docs/api.md: a line like ### `GET /api/v1/events/{event_id}`."""

SOCKET_IO = "/socket.io/"
"""The Socket.IO endpoint; docs/protocol.md documents what travels over it."""


def served_routes(app: web.Application) -> set[str]:
    """Every route as "METHOD /canonical/path", as the router writes the path."""
    out: set[str] = set()
    for route in app.router.routes():
        resource = route.resource
        assert resource is not None
        path = resource.canonical
        if path == SOCKET_IO:
            continue
        if isinstance(resource, web.StaticResource):
            # The router names a static directory by its prefix alone; its files are
            # asked for as `url_for(filename=...)`, so the doc names that parameter.
            path = f"{path}/{{filename}}"
        out.add(f"{route.method} {path}")
    # aiohttp adds HEAD beside every GET; api.md says so once instead of twice per route.
    return {r for r in out if not (r.startswith("HEAD ") and "GET " + r[5:] in out)}


def documented_routes(text: str) -> set[str]:
    return {f"{method} {path}" for method, path in HEADING.findall(text)}


def test_the_heading_pattern_reads_the_doc_format() -> None:
    text = "### `GET /api/v1/events/{event_id}`\n### `PUT /x/{a}.{b}`\nnot `GET /nope`\n"
    assert documented_routes(text) == {"GET /api/v1/events/{event_id}", "PUT /x/{a}.{b}"}


def test_every_route_is_documented_and_every_entry_is_served(tmp_path: Path) -> None:
    app = build_app(Config(data_dir=str(tmp_path / "data")))
    served = served_routes(app)
    assert len(served) > 40, sorted(served)  # the listing itself works
    documented = documented_routes(API_DOC.read_text(encoding="utf-8"))
    missing = sorted(served - documented)
    stale = sorted(documented - served)
    problems = []
    if missing:
        problems.append("routes missing from docs/api.md (add a ### `METHOD /path` entry):")
        problems += [f"  {r}" for r in missing]
    if stale:
        problems.append("docs/api.md documents routes the app does not serve:")
        problems += [f"  {r}" for r in stale]
    assert not problems, "\n".join(problems)
