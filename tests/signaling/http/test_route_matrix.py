"""Every HTTP route, called by each principal who has no business there (issue 9), gets
the refusal docs/api.md documents for that route.

The routes are the app's own (`app.router`, listed as tests/test_api_doc.py does); who may
call each is read from the first words of its entry in docs/api.md ("API key.",
"Dashboard, `action`.", "Staff link, ...", "Public."), so a new route is covered as soon as it
is documented, and a route whose entry says none of these makes the test fail until it is
classified here. Public routes are listed explicitly (`PUBLIC`) and must be documented so.

Principals: no credentials; another account's API key; a dashboard login (cookie) of a
collaborator of another event of the same account; a participant link token of the event
(as a Bearer token); a collaborator's login after he was removed from the event. The
removed collaborator's staff *link token* is revocation (issue 9, item 2): those cases are
`xfail(strict=True)` until it lands. The API key of the event's own account is the sanity
column: every GET it may call answers 200.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from room.accounts import users
from tests.helpers import Server
from tests.moderation.pdfs import png
from tests.room.audience.helpers import PASSWORD, Web, organizer
from tests.test_api_doc import API_DOC, served_routes

ENTRY = re.compile(r"^### `([A-Z]+) (/\S*)`\n+(.+?)(?=^##)", re.MULTILINE | re.DOTALL)

PUBLIC = {
    "GET /healthz",
    "POST /api/v1/auth/login",
    "POST /api/v1/auth/magic",
    "POST /api/v1/auth/magic/consume",
    "POST /api/v1/auth/logout",
    "GET /api/v1/public/events/{event_id}/registration",
    "POST /api/v1/public/events/{event_id}/registrations",
    "GET /",
    "GET /room/{event_id}",
    "GET /screen/{event_id}",
    "GET /manage/{event_id}",
    "GET /login",
    "GET /dashboard",
    "GET /dashboard/team",
    "GET /dashboard/billing",
    "GET /dashboard/credits",
    "GET /register/{event_id}",
    "GET /stats/{event_id}",
    "GET /replay/{event_id}",
    "GET /vendor/{name}",
    "GET /dashboard/vendor/chart.umd.min.js",
    "GET /static/{filename}",
}
"""Routes anybody may call: pages (which check nothing themselves), health, sign-in and the
public registration."""

CLASSIFIED = {
    "GET /api/v1/events/{event_id}/{dataset}.{fmt}": "staff",
    "GET /slides/{event_id}/{deck}/{index}": "slide",
    "GET /api/v1/replay/{event_id}": "replay",
    "GET /api/v1/replay/{event_id}/{recording_id}/{file}": "signed",
}
"""Routes whose entry does not start with the name of who may call them."""

METRICS_TOKEN = "the-metrics-token-of-the-matrix"
"""The world's server serves /metrics to this token only (no key, login or link)."""

NOT_SEEDED = {
    "GET /api/v1/events/{event_id}/certificates/{cert_id}.pdf",
    "GET /api/v1/events/{event_id}/certificate/{kind}",
    "GET /api/v1/invoices/{invoice_id}.pdf",
    "GET /api/v1/events/{event_id}/recordings/{recording_id}/{file}",
    "GET /api/v1/replay/{event_id}",
    "GET /api/v1/events/{event_id}/recordings/{recording_id}/export.mp4",
}
"""GETs that answer 404 even to the right principal here: nothing was uploaded or issued
(the event was not recorded: it has no replay)."""

SIGNED = {"GET /api/v1/replay/{event_id}/{recording_id}/{file}"}
"""GETs that only a signed URL opens (`?sig=`): every credential here is refused 401."""


def route_kinds(text: str) -> dict[str, tuple[str, str]]:
    """route → (who may call it, its documented entry) from docs/api.md."""
    out: dict[str, tuple[str, str]] = {}
    pages = text.index("## Pages and static files")
    for m in ENTRY.finditer(text + "\n##"):
        route, entry = f"{m.group(1)} {m.group(2)}", m.group(3)
        if route in CLASSIFIED:
            kind = CLASSIFIED[route]
        elif m.start() > pages or entry.startswith("Public"):
            kind = "public"
        elif entry.startswith("API key."):
            kind = "api_key"
        elif entry.startswith("Dashboard"):
            kind = "dashboard"
        elif entry.startswith("Staff link"):
            kind = "staff"
        elif entry.startswith("Metrics token."):
            kind = "metrics"
        else:
            kind = "unclassified"
        out[route] = (kind, entry)
    return out


@dataclass
class World:
    """Account A (API key, organizer login) with event `event` and `elsewhere`; account B."""

    server: Server
    key: str
    other_key: str
    event_id: str
    participant: str
    """A participant link token of the event."""
    removed_link: str
    """A staff link token the collaborator took before he was removed from the event."""
    params: dict[str, str]
    cookies: dict[str, Web] = field(default_factory=dict)

    def url(self, route: str) -> str:
        path = route.split(" ", 1)[1]
        for name, value in self.params.items():
            path = path.replace("{" + name + "}", value)
        assert "{" not in path, f"no value for a parameter of {route}"
        return self.server.url + path

    async def close(self) -> None:
        for web in self.cookies.values():
            await web.close()


async def collaborator(org: Web, server: Server, event_id: str, email: str) -> tuple[Web, str]:
    status, added = await org.call(
        "POST", f"/api/v1/events/{event_id}/collaborators", {"email": email, "name": "Col"}
    )
    assert status == 201, added
    store = server.tribune.store
    user = await users.user_by_email(store, email)
    assert user is not None
    await users.set_password(store, user, PASSWORD)
    web = Web(server.url)
    assert (await web.login(email))[0] == 200
    return web, added["user"]["id"]


async def build(server: Server) -> World:
    account, key, _ = await organizer(server)
    _, other_key = await server.account("Rival")
    event = await server.event(account)
    elsewhere = await server.event(account, title="Another webinar")
    inv, participant = await server.invite(event, "participant", shared=True)
    org = Web(server.url)
    assert (await org.login("org@acme.test"))[0] == 200
    other_collab, _ = await collaborator(org, server, elsewhere.id, "other@acme.test")
    removed, removed_id = await collaborator(org, server, event.id, "removed@acme.test")
    status, links = await removed.call("POST", f"/api/v1/events/{event.id}/links")
    assert status == 200, links
    status, body = await org.call("DELETE", f"/api/v1/events/{event.id}/collaborators/{removed_id}")
    assert status == 200, body
    # a deck of two slides: slide 0 shown, slide 1 not yet
    form = aiohttp.FormData()
    for i in range(2):
        form.add_field("file", png(), filename=f"s{i}.png", content_type="image/png")
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            f"{server.url}/api/v1/events/{event.id}/slides",
            data=form,
            headers={"Authorization": f"Bearer {key}"},
        ) as r,
    ):
        assert r.status == 201, await r.text()
        deck = (await r.json())["slides"]["deck"]
    params = {
        "event_id": event.id,
        "inv_id": inv.id,
        "user_id": removed_id,
        "account_id": "acc_none",
        "cert_id": "crt_none",
        "kind": "logo",
        "name": "registrations",
        "fmt": "csv",
        "dataset": "questions",
        "deck": deck,
        "index": "1",
        "filename": "none.js",
        "addon_id": "addon_none",
        "invoice_id": "inv_none",
        "client_id": "own",
        "recording_id": "rec_none",
        "file": "none.webm",
    }
    world = World(server, key, other_key, event.id, participant, links["token"], params)
    world.cookies = {"org": org, "other_collab": other_collab, "removed_collab": removed}
    return world


@pytest.fixture
async def world(server: Server) -> AsyncIterator[World]:
    w = await build(server)
    server.tribune.config.metrics_token = METRICS_TOKEN  # read per request
    yield w
    await w.close()


async def ask(world: World, route: str, principal: str) -> tuple[int, Any]:
    """Call `route` as `principal` with an empty JSON object as the body of a write."""
    method = route.split(" ", 1)[0]
    url = world.url(route)
    body = None if method in ("GET", "HEAD", "DELETE") else {}
    if principal in world.cookies:
        return await world.cookies[principal].call(method, url[len(world.server.url) :], body)
    bearer = {
        "none": None,
        "key": world.key,
        "other_key": world.other_key,
        "participant": world.participant,
        "removed_link": world.removed_link,
    }[principal]
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    async with (
        aiohttp.ClientSession() as s,
        s.request(method, url, json=body, headers=headers) as r,
    ):
        raw = await r.read()
        try:
            return r.status, json.loads(raw)
        except ValueError:
            return r.status, raw[:80]


def expected(kind: str, entry: str, route: str, principal: str) -> int | None:
    """The documented status of a refusal, or None where the principal may call the route
    (another account's key on its own account's routes, say)."""
    event_scoped = "{event_id}" in route
    cookie = principal in ("other_collab", "removed_collab")
    if principal == "none" or kind == "signed":
        return 401  # a signed route takes no key, login or link: only its signature
    if kind == "metrics":
        return 401  # only the --metrics-token opens it: no key, login or link does
    if principal == "other_key":
        return 404 if event_scoped else None
    if kind == "api_key":
        return 401  # only a Bearer API key opens these: a cookie or a link is unknown
    if kind == "dashboard":
        if principal == "participant":
            return 401  # a Bearer header must be the API key
        if event_scoped:
            return 404  # an event he was not (or is no longer) added to does not exist
        return 403 if "`manage_account`" in entry.split(".")[0] else None
    if kind == "staff":
        return 401 if cookie else 403  # a cookie is no staff credential; a participant link
    if kind == "slide":
        return 401 if cookie else 403  # the participant link: slide 1 was not shown yet
    if kind == "replay":
        return 401 if cookie else None  # a participant link may watch the replay
    raise AssertionError(f"{route}: who may call it? ({kind})")


PRINCIPALS = ("none", "other_key", "other_collab", "participant", "removed_collab")


def routes(world: World) -> list[tuple[str, str, str]]:
    kinds = route_kinds(API_DOC.read_text(encoding="utf-8"))
    served = served_routes(world.server.app)
    assert served <= set(kinds), sorted(served - set(kinds))
    return sorted((r, *kinds[r]) for r in served)


async def test_every_route_refuses_whoever_has_no_business_there(world: World) -> None:
    table = routes(world)
    public = {r for r, kind, _ in table if kind == "public"}
    assert public == PUBLIC, (sorted(public - PUBLIC), sorted(PUBLIC - public))
    problems: list[str] = []
    checked = 0
    for route, kind, entry in table:
        if kind == "public":
            continue
        for principal in PRINCIPALS:
            want = expected(kind, entry, route, principal)
            if want is None:
                continue
            status, body = await ask(world, route, principal)
            checked += 1
            coded = not route.startswith("GET /slides/") or want != 404
            if status != want or (coded and not _code_matches(status, body)):
                problems.append(f"{route} as {principal}: {status} {str(body)[:160]}, want {want}")
    assert not problems, "\n".join(problems)
    assert checked > 150, checked


def _code_matches(status: int, body: Any) -> bool:
    codes = {401: "unauthorized", 403: "forbidden", 404: "not_found"}
    return isinstance(body, dict) and body.get("error", {}).get("code") == codes[status]


async def test_the_accounts_own_key_may_read_every_route_it_is_refused_to_others(
    world: World,
) -> None:
    problems = []
    for route, kind, _ in routes(world):
        if kind == "public" or not route.startswith("GET "):
            continue
        status, body = await ask(world, route, "key")
        want = 404 if route in NOT_SEEDED else 401 if kind == "metrics" or route in SIGNED else 200
        if status != want:
            problems.append(f"{route}: {status} {str(body)[:160]}, want {want}")
    assert not problems, "\n".join(problems)


REVOKED = [
    "POST /api/v1/events/{event_id}/slides",
    "GET /api/v1/events/{event_id}/{dataset}.{fmt}",
    "GET /slides/{event_id}/{deck}/{index}",
]


@pytest.mark.parametrize("route", REVOKED)
async def test_a_removed_collaborators_staff_link_opens_nothing(world: World, route: str) -> None:
    status, body = await ask(world, route, "removed_link")
    assert status in (401, 403), (status, str(body)[:160])


async def test_every_staff_link_route_is_in_the_revocation_cases(world: World) -> None:
    staff = {r for r, kind, _ in routes(world) if kind in ("staff", "slide")}
    assert staff == set(REVOKED)
    for route, kind, _ in routes(world):
        if kind in ("api_key", "dashboard"):
            status, _ = await ask(world, route, "removed_link")
            assert status == 401, route  # a link token is no API key
