"""The organizer's invitations from the dashboard (seed 002): a presenter or collaborator
invited by personal e-mail gets his link by mail; a re-issued link replaces the old one
(which opens nothing any more); a revoked one opens nothing."""

from __future__ import annotations

import re

import pytest

from tests.helpers import Client, Refused
from tests.room.audience.helpers import Web, body_of, organizer, wait_for_mail


@pytest.fixture
async def web(mem_server):
    w = Web(mem_server.url)
    yield w
    await w.close()


def token_in(text: str) -> str:
    found = re.search(r"#t=(\S+)", text)
    assert found, text
    return found.group(1)


async def connects(url: str, token: str) -> str | None:
    """None when the link opens the room, else the refusal's code."""
    c = Client(url)
    try:
        await c.connect(token, "device-1")
    except Refused as err:
        return str(err.code)
    await c.wait_for("room.state")
    await c.close()
    return None


async def test_invitations_are_mailed_reissued_and_revoked(mem_server, web: Web):
    await organizer(mem_server)
    assert (await web.login("org@acme.test"))[0] == 200
    _, event = await web.call("POST", "/api/v1/dashboard/events", {"title": "Panel"})
    base = f"/api/v1/dashboard/events/{event['id']}/invitations"
    status, body = await web.call("POST", base, {"role": "participant", "email": "p@x.test"})
    assert status == 400 and body["error"]["field"] == "role"
    status, body = await web.call("POST", base, {"role": "presenter", "email": "not an address"})
    assert status == 400 and body["error"]["field"] == "email"
    status, made = await web.call(
        "POST", base, {"role": "presenter", "email": "Pia@X.test", "name": "Pia"}
    )
    assert status == 201, made
    inv = made["invitation"]
    assert inv["role"] == "presenter" and inv["email"] == "pia@x.test" and inv["gen"] == 1
    first = await wait_for_mail(mem_server, "pia@x.test")
    assert "Panel" in first[0]["Subject"] and inv["link"] in body_of(first[0])
    old = token_in(body_of(first[0]))
    status, made = await web.call("POST", base, {"role": "collaborator", "email": "col@x.test"})
    assert status == 201
    await wait_for_mail(mem_server, "col@x.test")
    _, listed = await web.call("GET", base)
    assert [i["email"] for i in listed["invitations"]] == ["pia@x.test", "col@x.test"]

    # re-issued: a new link is mailed, the old one is refused
    status, again = await web.call("POST", f"{base}/{inv['id']}/reissue")
    assert status == 200 and again["invitation"]["gen"] == 2
    second = await wait_for_mail(mem_server, "pia@x.test", count=2)
    new = token_in(body_of(second[-1]))
    assert new != old
    assert await connects(mem_server.url, old) == "unauthorized"
    assert await connects(mem_server.url, new) is None

    # revoked: the link opens nothing, and the invitation is gone from the list
    status, _ = await web.call("DELETE", f"{base}/{inv['id']}")
    assert status == 200
    assert await connects(mem_server.url, new) == "unauthorized"
    _, listed = await web.call("GET", base)
    assert [i["email"] for i in listed["invitations"]] == ["col@x.test"]
    assert (await web.call("DELETE", f"{base}/{inv['id']}"))[0] == 404
    _, activity = await web.call("GET", f"/api/v1/events/{event['id']}/activity")
    actions = [a["action"] for a in activity["activity"]]
    assert {"invitation.sent", "invitation.reissued", "invitation.revoked"} <= set(actions)


@pytest.mark.parametrize("path", ["/reissue", ""])
async def test_only_mailed_invitations_are_reissued_or_revoked_here(mem_server, web: Web, path):
    account, _, _ = await organizer(mem_server)
    event = await mem_server.event(account)
    inv, _ = await mem_server.invite(event, "participant", shared=True)
    assert (await web.login("org@acme.test"))[0] == 200
    method = "POST" if path else "DELETE"
    url = f"/api/v1/dashboard/events/{event.id}/invitations/{inv.id}{path}"
    status, body = await web.call(method, url)
    assert status == 404 and body["error"]["code"] == "not_found"
