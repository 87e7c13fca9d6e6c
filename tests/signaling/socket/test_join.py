"""Joining the live room: snapshot, waiting room, start/end, refusals."""

from __future__ import annotations

import pytest

from tests.helpers import Refused


async def test_join_gets_room_state_and_waits(server):
    s = await server.setup()
    c = await s.join("participant")
    state = await c.wait_for("room.state")
    assert state["event"]["title"] == "Test webinar"
    assert state["event"]["state"] == "scheduled"
    assert state["you"]["role"] == "participant"
    assert "start_event" not in state["you"]["can"]
    org = await s.join("organizer")
    assert (await org.call("event.start")) == {"ok": True, "state": "live"}
    status = await c.wait_for("event.status", lambda d: d["event"]["state"] == "live")
    assert status["rev"] > state["rev"]
    await c.close()
    await org.close()


async def test_forged_token_is_refused(server):
    s = await server.setup()
    with pytest.raises(Refused) as err:
        await server.client(s.tokens["participant"][:-3] + "abc")
    assert err.value.code == "unauthorized"


async def test_deleted_event_is_not_found(server):
    from room import events as ev

    s = await server.setup()
    await ev.delete_event(server.tribune.store, s.account, s.event.id)
    with pytest.raises(Refused) as err:
        await s.join("participant")
    assert err.value.code == "not_found"
