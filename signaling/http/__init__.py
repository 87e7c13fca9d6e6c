"""The HTTP edge: one module per resource, and the helpers they share.

- `events`: the events API (events, invitations, roster), the dashboard's
  events and own links, collaborators;
- `signin`: sign-in, logout, "me", passwords, the account's API key;
- `team`: the account's users, secondary accounts, invitations mailed from the
  dashboard;
- `audience`: registration, access lists, direct link, activity, sessions,
  statistics, certificates;
- `credits`: the credits plan (balances, purchases, clients, allocations, the ledger);
- `exports`: every CSV/XLSX export of an event; `slides`: slide upload and images;
- `recordings`: an event's recordings and their files; `recording_exports`: their MP4
  export (before `recordings`, whose track-file route would match `export.mp4`);
- `replay`: the replay page's data and files;
- `pages`: the HTML pages, browser libraries, static files, health check;
- `billing`: the account's plan and cycle, add-ons, invoices (issue 11);
- `common`: bodies, queries, limited reads, streamed tables; `errors`: the
  JSON error middleware.

Who may call a route is resolved by `signaling.auth` and asked of
`room.permissions`; rules live in `room/` and `moderation/`.
"""

from __future__ import annotations

from aiohttp import web

from signaling.http import (
    audience,
    billing,
    credits,
    events,
    exports,
    pages,
    recording_exports,
    recordings,
    replay,
    signin,
    slides,
    team,
)


def setup(app: web.Application) -> None:
    """Add every HTTP route to the app."""
    for module in (
        events,
        signin,
        team,
        audience,
        billing,
        credits,
        exports,
        slides,
        recording_exports,
        recordings,
        replay,
        pages,
    ):
        app.add_routes(module.routes)
