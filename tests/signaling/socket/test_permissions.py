"""Every event of every namespace x every role: allowed, or `forbidden` — from the one table."""

from __future__ import annotations

import pytest

from room.permissions import PERMISSIONS, Action, can
from room.types import Role
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
