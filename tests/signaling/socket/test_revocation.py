"""Access is revoked on open connections: a removed collaborator, a ban, a re-issued link or
a withdrawn one closes the sockets it opened, on every node, and the link opens nothing."""

from __future__ import annotations

import asyncio

import pytest

from room import keys
from room.accounts import users
from room.events import load_invitation
from room.presence import revocation
from room.types import Role
from tests.helpers import Client, Refused, http


async def disconnected(c: Client) -> bool:
    for _ in range(200):
        if not c.connected:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_removed_collaborators_manager_closes_and_his_link_opens_nothing(server):
    s = await server.setup()
    store = server.tribune.store
    user = await users.add_collaborator(store, s.account, s.event, "col@acme.test", "Cole")
    inv = await users.staff_invitation(
        store, s.event, user.id, Role.COLLABORATOR, user.name, user.email
    )
    token = server.token(inv)
    manage = await server.client(token, "/manage")
    await manage.wait_for("manage.state")
    audit = f"{server.url}/api/v1/events/{s.event.id}/audit.csv"
    assert (await http("GET", audit, token))[0] == 200

    url = f"{server.url}/api/v1/events/{s.event.id}/collaborators/{user.id}"
    assert (await http("DELETE", url, s.api_key))[0] == 200

    revoked = await manage.wait_for("revoked")
    assert revoked["code"] == "unauthorized"
    assert await disconnected(manage)
    with pytest.raises(Refused) as err:
        await server.client(token, "/manage")
    assert err.value.code == "unauthorized"
    status, body = await http("GET", audit, token)
    assert status == 401 and body["error"]["code"] == "unauthorized"


async def test_a_banned_presenters_manager_page_closes_with_banned(server):
    s = await server.setup()
    org = await s.join("organizer")
    pres = await s.join("presenter", device="pres-device")
    pid = (await pres.wait_for("room.state"))["you"]["person"]
    manage = await server.client(s.tokens["presenter"], "/manage", device="pres-device")
    await manage.wait_for("manage.state")

    assert (await org.call("person.remove", {"person": pid, "ban": True}))["ok"]

    assert (await pres.wait_for("removed"))["code"] == "banned"
    assert (await manage.wait_for("revoked"))["code"] == "banned"
    assert await disconnected(manage)
    assert "revoked" not in pres.received  # told once, as "removed"
    with pytest.raises(Refused) as err:
        await server.client(s.tokens["presenter"], "/manage", device="pres-device")
    assert err.value.code == "banned"
    status, body = await http("GET", f"{server.url}/api/v1/events/{s.event.id}/audit.csv",
                              s.tokens["presenter"])
    assert status == 403 and body["error"]["code"] == "banned"


async def test_reissuing_a_link_closes_its_sockets_on_another_node(make_server, redis_url):
    a = await make_server(redis_url=redis_url)
    b = await make_server(redis_url=redis_url)
    s = await a.setup()
    inv_id = a.tribune.tokens.verify(s.tokens["presenter"]).invitation
    room = await b.client(s.tokens["presenter"], device="pres-device")
    await room.wait_for("room.state")
    manage = await b.client(s.tokens["presenter"], "/manage", device="pres-device")
    await manage.wait_for("manage.state")
    other = await b.client(s.tokens["organizer"], "/manage")
    await other.wait_for("manage.state")

    url = f"{a.url}/api/v1/events/{s.event.id}/invitations/{inv_id}/reissue"
    status, body = await http("POST", url, s.api_key)
    assert status == 200

    for c in (room, manage):
        assert (await c.wait_for("revoked"))["code"] == "unauthorized"
        assert await disconnected(c)
    assert (await other.call("sync", {"rev": 0, "full": True}))["ok"]  # others stay
    assert "revoked" not in other.received
    fresh = await b.client(body["token"], "/manage", device="pres-device")
    await fresh.wait_for("manage.state")


async def test_every_action_checks_the_link_even_when_the_sweep_missed_it(server):
    """A revocation whose sweep never ran (a node died mid-way): the next action sees it."""
    s = await server.setup()
    store = server.tribune.store
    manage = await server.client(s.tokens["organizer"], "/manage")
    await manage.wait_for("manage.state")
    assert (await manage.call("sync", {"rev": 0, "full": True}))["ok"]
    inv_id = server.tribune.tokens.verify(s.tokens["organizer"]).invitation
    await load_invitation(store, s.event.id, inv_id)
    await store.hdel(keys.invitations(s.event.id), inv_id)
    await revocation.revoked(store, s.event.id)

    ack = await manage.call("sync", {"rev": 0, "full": True})
    assert ack["ok"] is False and ack["error"]["code"] == "unauthorized"
    assert (await manage.wait_for("revoked"))["code"] == "unauthorized"
    assert await disconnected(manage)


async def test_deleting_an_event_closes_its_manager_pages(server):
    s = await server.setup()
    manage = await server.client(s.tokens["organizer"], "/manage")
    await manage.wait_for("manage.state")
    status, _ = await http("DELETE", f"{server.url}/api/v1/events/{s.event.id}", s.api_key)
    assert status == 200
    assert (await manage.wait_for("revoked"))["code"] == "unauthorized"
    assert await disconnected(manage)
