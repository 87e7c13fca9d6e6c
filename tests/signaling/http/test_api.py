"""The HTTP API: every route, bad JSON, wrong key, and tenants that never see each other."""

from __future__ import annotations

import io

import aiohttp

from tests.helpers import http


async def test_healthz(server) -> None:
    assert await http("GET", server.url + "/healthz") == (200, {"ok": True})


async def test_event_crud_and_invitations(server) -> None:
    _, key = await server.account(attendees=50)
    api = server.url + "/api/v1"
    status, event = await http("POST", api + "/events", key, {"title": "Launch", "kind": "meeting", "capacity": 20})
    assert status == 201 and event["kind"] == "meeting" and event["capacity"] == 20
    assert event["state"] == "scheduled" and event["access_mode"] == "open"
    eid = event["id"]
    assert (await http("GET", f"{api}/events/{eid}", key))[1]["title"] == "Launch"
    status, listed = await http("GET", api + "/events", key)
    assert [e["id"] for e in listed["events"]] == [eid]
    status, updated = await http("PATCH", f"{api}/events/{eid}", key, {"title": "Launch 2", "access_mode": "registration"})
    assert status == 200 and updated["title"] == "Launch 2" and updated["access_mode"] == "registration"
    for role in ("presenter", "collaborator", "participant", "screen", "organizer"):
        status, inv = await http("POST", f"{api}/events/{eid}/invitations", key, {"role": role, "name": "N", "email": "n@example.org"})
        assert status == 201 and inv["url"].endswith("#t=" + inv["token"]) and f"/{eid}#" in inv["url"]
        assert inv["invitation"]["role"] == role
    status, invs = await http("GET", f"{api}/events/{eid}/invitations", key)
    assert len(invs["invitations"]) == 5
    pres = invs["invitations"][0]
    status, again = await http("POST", f"{api}/events/{eid}/invitations/{pres['id']}/reissue", key)
    assert status == 200 and again["invitation"]["gen"] == 2
    assert (await http("GET", f"{api}/events/{eid}/roster", key)) == (200, {"roster": [], "count": 0})
    c = await server.client(again["token"])
    await c.wait_for("room.state")
    status, roster = await http("GET", f"{api}/events/{eid}/roster", key)
    assert roster["count"] == 1 and roster["roster"][0]["role"] == "presenter"
    await c.close()
    assert (await http("DELETE", f"{api}/events/{eid}", key)) == (200, {"ok": True})
    status, body = await http("GET", f"{api}/events/{eid}", key)
    assert status == 404 and body["error"]["code"] == "not_found"


async def test_account_route(server) -> None:
    account, key = await server.account(attendees=7)
    status, body = await http("GET", server.url + "/api/v1/account", key)
    assert status == 200 and body["id"] == account.id and body["plan"]["attendees"] == 7


async def test_bad_json_and_fields_name_the_field(server) -> None:
    _, key = await server.account(attendees=10)
    url = server.url + "/api/v1/events"
    cases = [
        ({"title": ""}, "title"),
        ({"title": 5}, "title"),
        ({"title": "x", "kind": "party"}, "kind"),
        ({"title": "x", "capacity": 11}, "capacity"),
        ({"title": "x", "bogus": 1}, "bogus"),
        ({}, "title"),
        ({"title": "x" * 201}, "title"),
    ]
    for payload, field in cases:
        status, body = await http("POST", url, key, payload)
        assert status == 400, payload
        assert body["error"]["code"] == "invalid" and body["error"].get("field") == field, (payload, body)
    status, body = await http("POST", url, key, data=b"{not json")
    assert status == 400 and body["error"]["code"] == "invalid"
    status, body = await http("POST", url, key, data=b"")
    assert status == 400 and body["error"]["code"] == "invalid"
    status, body = await http("POST", url, key, data=b"\xff\xfe")
    assert status == 400 and body["error"]["code"] == "invalid"
    async with aiohttp.ClientSession() as s:
        big = b'{"title": "' + b"x" * (2 * 1024 * 1024) + b'"}'
        async with s.post(url, data=io.BytesIO(big), headers={"Authorization": f"Bearer {key}"}) as r:
            assert r.status == 413
            assert (await r.json())["error"]["code"] == "invalid"
    status, listed = await http("GET", url, key)
    assert listed["events"] == []  # nothing half-created


async def test_wrong_key_and_missing_key(server) -> None:
    url = server.url + "/api/v1/events"
    status, body = await http("GET", url, "trb_wrong")
    assert status == 401 and body["error"]["code"] == "unauthorized"
    status, body = await http("GET", url)
    assert status == 401 and body["error"]["code"] == "unauthorized"


async def test_another_tenants_event_is_not_found(server) -> None:
    _, key_a = await server.account("A")
    _, key_b = await server.account("B")
    api = server.url + "/api/v1"
    _, event = await http("POST", api + "/events", key_a, {"title": "Secret"})
    eid = event["id"]
    for method, path, body in [
        ("GET", f"/events/{eid}", None),
        ("PATCH", f"/events/{eid}", {"title": "pwned"}),
        ("DELETE", f"/events/{eid}", None),
        ("POST", f"/events/{eid}/invitations", {"role": "organizer"}),
        ("GET", f"/events/{eid}/invitations", None),
        ("GET", f"/events/{eid}/roster", None),
        ("POST", f"/events/{eid}/invitations/whatever/reissue", None),
    ]:
        status, out = await http(method, api + path, key_b, body)
        assert status == 404 and out["error"]["code"] == "not_found", (method, path, out)
        assert "Secret" not in str(out)
    assert (await http("GET", f"{api}/events/{eid}", key_a))[1]["title"] == "Secret"


async def test_unknown_api_route_is_json(server) -> None:
    status, body = await http("GET", server.url + "/api/v1/nothing-here")
    assert status == 404 and body["error"]["code"] == "not_found"


async def test_pages_and_vendor_are_served(server) -> None:
    async with aiohttp.ClientSession() as s:
        for path in ("/", "/room/ev_x", "/screen/ev_x", "/static/js/room.js", "/vendor/socket.io.msgpack.min.js"):
            async with s.get(server.url + path) as r:
                assert r.status == 200, path
