"""Every event of every namespace x every role: allowed, or `forbidden` — from the one table."""

from __future__ import annotations

import aiohttp
import pytest
import socketio

from room import stage
from room.permissions import PERMISSIONS, Action, can, may_stop_media_of
from room.presence import roster
from room.stage import Source
from room.types import Role
from signaling.app import allowed_origin
from signaling.config import Config
from signaling.socket.fanout import MANAGE, ROOM, SCREEN
from tests.helpers import Refused


def test_every_role_has_an_entry_and_only_the_organizer_is_protected() -> None:
    assert set(PERMISSIONS) == set(Role)
    assert [r for r in Role if can(r, Action.BE_PROTECTED)] == [Role.ORGANIZER]
    assert not can(Role.SCREEN, Action.JOIN) or can(Role.SCREEN, Action.VIEW_SCREEN)


@pytest.mark.parametrize("role", [r.value for r in Role])
async def test_event_by_role_matrix(mem_server, role: str) -> None:
    hub = mem_server.tribune.hub
    assert hub is not None
    checked = 0
    for name, ns in hub.namespaces.items():
        s = await mem_server.setup()  # a fresh event: allowed actions may end it
        try:
            client = await mem_server.client(s.tokens[role], namespace=name)
        except Refused as err:
            assert not can(Role(role), ns.admit_action), f"{role} refused on {name}: {err.data}"
            assert err.code == "forbidden"
            continue
        assert can(Role(role), ns.admit_action), f"{role} should not connect to {name}"
        # end the event last so the other events still run on a live room
        events = sorted(ns.routes, key=lambda e: e == "event.end")
        for event in events:
            route = ns.routes[event]
            ack = await client.call(event, {})
            allowed = can(Role(role), route.action)
            code = None if ack["ok"] else ack["error"]["code"]
            if allowed:
                assert code != "forbidden", f"{role} {name} {event}: {ack}"
            else:
                assert code == "forbidden", f"{role} {name} {event}: {ack}"
            checked += 1
        await client.close()
    assert checked > 0 or role == "screen"


def test_the_namespaces_exist() -> None:
    assert {ROOM, MANAGE, SCREEN} == {"/room", "/manage", "/screen"}


def test_only_the_organizer_may_stop_the_organizers_media() -> None:
    assert not may_stop_media_of(Role.PRESENTER, Role.ORGANIZER)
    assert may_stop_media_of(Role.ORGANIZER, Role.ORGANIZER)
    assert may_stop_media_of(Role.ORGANIZER, Role.PRESENTER)
    assert may_stop_media_of(Role.PRESENTER, Role.PRESENTER)
    assert may_stop_media_of(Role.PRESENTER, Role.PARTICIPANT)
    assert not may_stop_media_of(Role.PARTICIPANT, Role.PARTICIPANT)
    assert not may_stop_media_of(Role.COLLABORATOR, Role.PARTICIPANT)


async def test_a_presenter_cannot_stop_the_organizers_media(mem_server) -> None:
    s = await mem_server.setup()
    store = mem_server.tribune.store
    event_id = s.event.id
    org = await s.join("organizer")
    pres = await s.join("presenter")
    _, second_token = await mem_server.invite(s.event, "presenter", name="Second")
    second = await mem_server.client(second_token)
    part = await s.join("participant")
    ids = [(await c.wait_for("room.state"))["you"]["person"] for c in (org, pres, second, part)]
    org_id, pres_id, second_id, part_id = ids
    for identity in (org_id, pres_id, second_id):
        person = await roster.require_person(store, event_id, identity)
        await stage.take(store, event_id, person, Source.CAMERA)

    for payload in ({"person": org_id, "source": "camera"}, {"person": org_id}):
        ack = await pres.call("media.stop_other", payload)
        assert not ack["ok"] and ack["error"]["code"] == "forbidden", ack
    assert org_id in (await stage.on_stage(store, event_id))["camera"]

    # a presenter still stops another presenter's and a participant's media
    assert (await pres.call("media.stop_other", {"person": second_id, "source": "camera"}))["ok"]
    await second.wait_for("media.stopped")
    assert (await pres.call("media.stop_other", {"person": part_id}))["ok"]
    await part.wait_for("media.stopped")
    # the organizer stops a presenter's
    assert (await org.call("media.stop_other", {"person": pres_id, "source": "camera"}))["ok"]
    await pres.wait_for("media.stopped")
    assert (await stage.on_stage(store, event_id))["camera"] == [org_id]
    assert "media.stopped" not in org.received
    for c in (org, pres, second, part):
        await c.close()


async def _handshake(url: str, origin: str | None, transport: str) -> int:
    """Open an Engine.IO handshake by `transport`; the HTTP status it gets (101 for a socket)."""
    headers = {"Origin": origin} if origin else {}
    async with aiohttp.ClientSession() as http_session:
        path = f"{url}/socket.io/?EIO=4&transport={transport}"
        if transport == "polling":
            async with http_session.get(path, headers=headers) as r:
                return r.status
        try:
            async with http_session.ws_connect(path, headers=headers) as ws:
                await ws.close()
                return 101
        except aiohttp.WSServerHandshakeError as err:
            return err.status


@pytest.mark.parametrize("transport", ["polling", "websocket"])
async def test_socket_handshakes_from_another_origin_are_refused(mem_server, transport) -> None:
    own = mem_server.tribune.config.base_url
    assert own == mem_server.url
    expected = 200 if transport == "polling" else 101
    assert await _handshake(mem_server.url, "https://evil.example", transport) == 400
    assert await _handshake(mem_server.url, "null", transport) == 400
    assert await _handshake(mem_server.url, own, transport) == expected
    assert await _handshake(mem_server.url, None, transport) == expected  # not a browser


async def test_a_client_from_another_origin_cannot_join(mem_server) -> None:
    s = await mem_server.setup()
    evil = socketio.AsyncClient(serializer="msgpack", reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await evil.connect(
            mem_server.url,
            namespaces=["/room"],
            auth={"token": s.tokens["participant"], "device": "device-one"},
            headers={"Origin": "https://evil.example"},
            transports=["websocket"],
            wait_timeout=5,
        )
    await evil.disconnect()
    own = socketio.AsyncClient(serializer="msgpack", reconnection=False)
    await own.connect(
        mem_server.url,
        namespaces=["/room"],
        auth={"token": s.tokens["participant"], "device": "device-two"},
        headers={"Origin": mem_server.url},
        transports=["websocket"],
        wait_timeout=5,
    )
    assert own.connected
    await own.disconnect()


@pytest.mark.parametrize(
    ("public_url", "origin", "allowed"),
    [
        ("https://webinar.example/", "https://webinar.example", True),
        ("https://webinar.example:443/tribune", "https://webinar.example", True),
        ("https://Webinar.Example", "https://webinar.example", True),
        ("https://webinar.example", "http://webinar.example", False),
        ("https://webinar.example", "https://webinar.example:8443", False),
        ("https://webinar.example", "https://evil.example", False),
        ("https://webinar.example", None, False),
    ],
)
def test_the_allowed_origin_is_the_public_urls(public_url, origin, allowed) -> None:
    assert allowed_origin(Config(public_url=public_url), origin) is allowed
