"""The dashboard's HTTP API: events with audience settings, registration, access list, direct link."""

from __future__ import annotations

import asyncio
import io

import pytest

from moderation import audit
from room.audience import registration
from tests.helpers import Refused
from tests.room.audience.helpers import Web, organizer

FIELDS = [
    {"id": "company", "label": "Company", "kind": "text", "required": True},
    {"id": "size", "label": "Team size", "kind": "choice", "choices": ["1-10", "11+"]},
]


@pytest.fixture
async def org(server):
    await organizer(server)
    web = Web(server.url)
    assert (await web.login("org@acme.test"))[0] == 200
    yield server, web
    await web.close()


async def test_create_and_edit_an_event_with_its_audience_settings(org):
    _server, web = org
    status, event = await web.call(
        "POST",
        "/api/v1/dashboard/events",
        {
            "title": "Launch",
            "kind": "meeting",
            "access_mode": "registration",
            "capacity": 50,
            "scheduled_start": 1_900_000_000,
            "registration_fields": FIELDS,
            "certificate": {"enabled": True, "colour": "#102030"},
            "question_visibility": "approved",
        },
    )
    assert status == 201, event
    assert (event["kind"], event["access_mode"], event["capacity"]) == (
        "meeting",
        "registration",
        50,
    )
    assert event["settings"]["registration_fields"][1]["choices"] == ["1-10", "11+"]
    assert event["settings"]["certificate"] == {
        "enabled": True,
        "colour": "#102030",
        "accent": "#3557e0",
        "signer": "",
    }
    assert event["settings"]["question_visibility"] == "approved"
    assert event["links"]["register"].endswith(f"/register/{event['id']}")
    status, edited = await web.call(
        "PATCH",
        f"/api/v1/dashboard/events/{event['id']}",
        {"title": "Launch 2", "registration_fields": FIELDS[:1]},
    )
    assert status == 200 and edited["title"] == "Launch 2"
    assert [f["id"] for f in edited["settings"]["registration_fields"]] == ["company"]
    assert edited["settings"]["certificate"]["enabled"] is True  # untouched settings stay
    status, public = await web.call("GET", f"/api/v1/public/events/{event['id']}/registration")
    assert public["open"] and public["certificate"] and public["fields"][0]["label"] == "Company"
    status, detail = await web.call("GET", f"/api/v1/dashboard/events/{event['id']}")
    assert detail["counts"] == {"registrations": 0, "guests": 0, "sessions": 0}
    status, body = await web.call("GET", f"/api/v1/events/{event['id']}/activity")
    assert [a["action"] for a in body["activity"]] == ["event.created", "event.edited"]
    assert {a["who"] for a in body["activity"]} == {"org@acme.test"}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": ""}, "title"),
        (
            {"title": "X", "registration_fields": [{"id": "email", "label": "E"}]},
            "registration_fields",
        ),
        ({"title": "X", "certificate": {"colour": "red"}}, "certificate"),
        ({"title": "X", "capacity": 100000}, "capacity"),
        ({"title": "X", "colour": "#fff"}, "colour"),
    ],
)
async def test_event_form_is_validated(org, payload, field):
    _, web = org
    status, body = await web.call("POST", "/api/v1/dashboard/events", payload)
    assert status == 400 and body["error"]["code"] == "invalid" and body["error"]["field"] == field


async def test_public_registration_and_the_registrations_list(org):
    server, web = org
    _, event = await web.call(
        "POST",
        "/api/v1/dashboard/events",
        {"title": "Launch", "access_mode": "registration", "registration_fields": FIELDS},
    )
    anon = Web(server.url)
    try:
        status, body = await anon.call(
            "POST",
            f"/api/v1/public/events/{event['id']}/registrations",
            {"email": "ann@example.org", "name": "Ann", "answers": {"size": "11+"}},
        )
        assert status == 400 and body["error"]["field"] == "answers.company"
        status, body = await anon.call(
            "POST",
            f"/api/v1/public/events/{event['id']}/registrations",
            {
                "email": "ann@example.org",
                "name": "Ann",
                "answers": {"company": "Acme", "size": "11+"},
            },
        )
        assert status == 201 and "/room/" in body["link"] and "#t=" in body["link"]
        # the personal link opens the room as Ann
        c = await server.client(body["link"].split("#t=")[1])
        state = await c.wait_for("room.state")
        assert state["you"]["name"] == "Ann" and state["you"]["role"] == "participant"
        await c.close()
    finally:
        await anon.close()
    status, listed = await web.call("GET", f"/api/v1/events/{event['id']}/registrations")
    assert listed["count"] == 1
    [r] = listed["registrations"]
    assert (r["email"], r["name"], r["answers"]) == (
        "ann@example.org",
        "Ann",
        {"company": "Acme", "size": "11+"},
    )


async def test_access_list_over_http(org):
    server, web = org
    _, event = await web.call(
        "POST", "/api/v1/dashboard/events", {"title": "Board", "access_mode": "access_list"}
    )
    base = f"/api/v1/events/{event['id']}"
    status, added = await web.call(
        "POST", f"{base}/guests", {"email": "ann@example.org", "name": "Ann"}
    )
    assert status == 201 and added["guest"]["added_by"] == "org@acme.test"
    status, body = await web.call("POST", f"{base}/guests", {"email": "ANN@example.org"})
    assert status == 409
    csv_file = b"email,name\nbob@example.org,Bob\nbroken,X\nann@example.org,Ann\n"
    status, report = await web.call("POST", f"{base}/guests/import", data=csv_file)
    assert status == 200 and (report["added"], report["already"], report["refused_count"]) == (
        1,
        1,
        1,
    )
    assert report["refused"] == [
        {"line": 3, "email": "broken", "reason": "not a valid e-mail address"}
    ]
    status, body = await web.call(
        "POST", f"{base}/guests/import", data="email\nçà@x.fr\n".encode("latin-1")
    )
    assert status == 400 and "not UTF-8" in body["error"]["message"]
    big = io.BytesIO(b"email,name\n" + b"x" * (10 * 1024 * 1024))
    status, body = await web.call("POST", f"{base}/guests/import", data=big)
    assert status == 400 and "larger than 10 MB" in body["error"]["message"]
    status, listed = await web.call("GET", f"{base}/guests")
    assert listed["count"] == 2 and [g["email"] for g in listed["guests"]] == [
        "ann@example.org",
        "bob@example.org",
    ]
    # Ann's link admits her, and the access list shows when she first connected
    c = await server.client(added["link"].split("#t=")[1])
    await c.wait_for("room.state")
    for _ in range(100):
        _, listed = await web.call("GET", f"{base}/guests")
        if listed["guests"][0]["first_connected"]:
            break
    assert listed["guests"][0]["first_connected"] is not None
    assert listed["guests"][1]["first_connected"] is None
    status, body = await web.call("DELETE", f"{base}/guests")
    assert status == 200 and body == {"deleted": 2}
    with pytest.raises(Refused) as err:
        await server.client(added["link"].split("#t=")[1])
    assert err.value.code == "unauthorized"
    await c.close()
    _, log = await web.call("GET", f"{base}/activity")
    assert [a["action"] for a in log["activity"]] == [
        "event.created",
        "guest.added",
        "guests.imported",
        "guests.deleted",
    ]  # refused files: no change


async def test_direct_link_opens_the_room_until_disabled(org):
    server, web = org
    _, event = await web.call(
        "POST",
        "/api/v1/dashboard/events",
        {"title": "Registration only", "access_mode": "registration"},
    )
    base = f"/api/v1/events/{event['id']}/direct-link"
    assert (await web.call("GET", base))[1] == {"enabled": False, "url": None}
    status, on = await web.call("PUT", base, {"enabled": True})
    assert status == 200 and on["enabled"] and "/room/" in on["url"]
    token = on["url"].split("#t=")[1]
    c = await server.client(token, name="Walk-in")
    state = await c.wait_for("room.state")
    assert state["you"]["role"] == "participant" and state["you"]["name"] == "Walk-in"
    status, off = await web.call("PUT", base, {"enabled": False})
    assert off == {"enabled": False, "url": None}
    with pytest.raises(Refused) as err:
        await server.client(token)
    assert err.value.code == "unauthorized"
    status, again = await web.call("PUT", base, {"enabled": True})
    # the same link (invitation and generation) works again
    claims = server.tribune.tokens.verify
    assert claims(again["url"].split("#t=")[1]) == claims(token)
    c2 = await server.client(token)
    await c2.wait_for("room.state")
    await c.close()
    await c2.close()


async def test_my_links_reuse_one_invitation_and_pages_are_served(org):
    server, web = org
    _, event = await web.call("POST", "/api/v1/dashboard/events", {"title": "Links"})
    _, first = await web.call("POST", f"/api/v1/events/{event['id']}/links")
    _, second = await web.call("POST", f"/api/v1/events/{event['id']}/links")
    assert first["room"].split("#")[0].endswith(f"/room/{event['id']}")
    c1 = server.tribune.tokens.verify(first["token"])
    c2 = server.tribune.tokens.verify(second["token"])
    assert c1.invitation == c2.invitation and c1.role == "organizer"
    for path in (
        "/login",
        "/dashboard",
        f"/register/{event['id']}",
        f"/stats/{event['id']}",
        "/dashboard/vendor/chart.umd.min.js",
    ):
        status, body, _ = await web.raw(path)
        assert status == 200 and body, path
    status, _body, headers = await web.raw("/dashboard")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


async def test_200_concurrent_http_registrations_with_50_duplicates_make_150(server):
    account, _ = await server.account()
    event = await server.event(account, title="Rush", access_mode="registration")
    url = f"{server.url}/api/v1/public/events/{event.id}/registrations"
    emails = [f"rush{i}@example.org" for i in range(150)] + [
        f"RUSH{i}@example.org" for i in range(50)
    ]
    web = Web(server.url)
    try:
        results = await asyncio.gather(
            *(
                web.call(
                    "POST", url.removeprefix(server.url), {"email": e, "name": "R"}, csrf=False
                )
                for e in emails
            )
        )
    finally:
        await web.close()
    codes = sorted(status for status, _ in results)
    assert codes == [201] * 150 + [409] * 50
    assert await registration.count(server.tribune.store, event.id) == 150
    listed = await registration.all_registrations(server.tribune.store, event.id)
    assert len({r.email for r in listed}) == 150


async def test_question_settings_from_the_dashboard_reach_the_manager_and_the_audit(org):
    server, web = org
    _, event = await web.call("POST", "/api/v1/dashboard/events", {"title": "Q&A"})
    _, links = await web.call("POST", f"/api/v1/events/{event['id']}/links")
    manager = await server.client(links["token"], namespace="/manage")
    await manager.wait_for("manage.state")
    status, edited = await web.call(
        "PATCH", f"/api/v1/dashboard/events/{event['id']}", {"question_visibility": "all"}
    )
    assert status == 200 and edited["settings"]["question_visibility"] == "all"
    pushed = await manager.wait_for(
        "questions.settings", lambda d: d["settings"]["visibility"] == "all"
    )
    assert pushed["settings"] == {"visibility": "all", "anonymous": True}
    [entry] = [
        e
        for e in await audit.entries(server.tribune.store, event["id"])
        if e.action == "questions.settings"
    ]
    assert entry.by_name == "Olga Organizer" and entry.after == {"visibility": "all"}
    await manager.close()
