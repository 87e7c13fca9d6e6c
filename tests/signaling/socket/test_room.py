"""The live room over real Socket.IO clients: roles, hands, removal, reconnection, sync."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import Refused


async def test_waiting_room_then_live_then_ended(server):
    s = await server.setup()
    p = await s.join("participant")
    assert (await p.wait_for("room.state"))["event"]["state"] == "scheduled"
    pres = await s.join("presenter")  # R-ROLE-3: the organizer need not attend
    assert (await pres.call("event.start"))["ok"]
    await p.wait_for("event.status", lambda d: d["event"]["state"] == "live")
    assert (await pres.call("event.end"))["state"] == "ended"
    await p.wait_for("event.status", lambda d: d["event"]["state"] == "ended")
    with pytest.raises(Refused) as err:
        await s.join("participant")
    assert err.value.code == "event_ended"
    for c in (p, pres):
        await c.close()


async def test_promote_and_demote_live_with_seat_limit(server):
    s = await server.setup(presenter_seats=1)
    org = await s.join("organizer")
    a = await s.join("participant", name="Ann")
    b = await s.join("participant", name="Bob")
    ann = (await a.wait_for("room.state"))["you"]["person"]
    bob = (await b.wait_for("room.state"))["you"]["person"]
    ack = await org.call("role.set", {"person": ann, "role": "presenter"})
    assert ack["ok"] and ack["person"]["role"] == "presenter"
    # Ann's page learns it, with her new rights, and everyone sees role.changed
    state = await a.wait_for("room.state", lambda d: d["you"]["role"] == "presenter")
    assert "start_event" in state["you"]["can"]
    await b.wait_for("role.changed", lambda d: d["person"]["person"] == ann)
    ack = await org.call("role.set", {"person": bob, "role": "presenter"})
    assert ack == {
        "ok": False,
        "error": {"code": "presenter_seats_full", "message": ack["error"]["message"]},
    }
    assert (await org.call("role.set", {"person": ann, "role": "participant"}))["ok"]
    await a.wait_for("room.state", lambda d: d["you"]["role"] == "participant")
    assert (await org.call("role.set", {"person": bob, "role": "presenter"}))["ok"]
    # a participant may not promote
    denied = await a.call("role.set", {"person": ann, "role": "presenter"})
    assert denied["error"]["code"] == "forbidden"
    for c in (org, a, b):
        await c.close()


async def test_promoted_presenter_sees_staff_fanout(server):
    s = await server.setup()
    org = await s.join("organizer")
    a = await s.join("participant")
    ann = (await a.wait_for("room.state"))["you"]["person"]
    assert (await org.call("role.set", {"person": ann, "role": "presenter"}))["ok"]
    await a.wait_for("room.state", lambda d: d["you"]["role"] == "presenter")
    c = await s.join("participant", name="Carl")
    # participants joining are told to staff only: Ann, now staff, hears of Carl
    await a.wait_for("roster.joined", lambda d: d["person"]["name"] == "Carl")
    for x in (org, a, c):
        await x.close()


async def test_hand_queue_in_order_raised(server):
    s = await server.setup()
    org = await s.join("organizer")
    people = [await s.join("participant", name=f"P{i}") for i in range(3)]
    ids = [(await p.wait_for("room.state"))["you"]["person"] for p in people]
    for i in (2, 0, 1):
        assert (await people[i].call("hand.raise"))["ok"]
        await org.wait_for("hand.queue", lambda d, i=i: ids[i] in [h["person"] for h in d["queue"]])
    q = await people[0].wait_for("hand.queue", lambda d: len(d["queue"]) == 3)
    assert q["queue"] == [ids[2], ids[0], ids[1]]  # the audience sees ids only
    staff_q = await org.wait_for("hand.queue", lambda d: len(d["queue"]) == 3)
    assert [h["name"] for h in staff_q["queue"]] == ["P2", "P0", "P1"]
    assert (await org.call("hand.next"))["person"]["person"] == ids[2]
    assert (await people[0].call("hand.next"))["error"]["code"] == "forbidden"
    assert (await org.call("hand.next"))["person"]["person"] == ids[0]
    for c in (org, *people):
        await c.close()


async def test_remove_with_ban(server):
    s = await server.setup()
    org = await s.join("organizer")
    p = await s.join("participant")
    pid = (await p.wait_for("room.state"))["you"]["person"]
    identity = await p.identity()
    assert (await org.call("person.remove", {"person": pid, "ban": True}))["ok"]
    removed = await p.wait_for("removed")
    assert removed["code"] == "banned"
    await org.wait_for("roster.left", lambda d: d["person"]["person"] == pid)
    for _ in range(100):
        if not p.connected:
            break
        await asyncio.sleep(0.05)
    assert not p.connected
    with pytest.raises(Refused) as err:
        await s.join("participant", identity=identity)
    assert err.value.code == "banned"
    org_id = (await org.wait_for("room.state"))["you"]["person"]
    pres = await s.join("presenter")
    assert (await pres.call("person.remove", {"person": org_id}))["error"]["code"] == "forbidden"
    for c in (org, pres):
        await c.close()


async def test_reconnect_within_grace_keeps_seat_role_and_hand(make_server):
    server = await make_server(grace=30.0)
    s = await server.setup(attendees=1)
    org = await s.join("organizer")
    p = await s.join("participant")
    pid = (await p.wait_for("room.state"))["you"]["person"]
    identity = await p.identity()
    assert (await org.call("role.set", {"person": pid, "role": "presenter"}))["ok"]
    await p.wait_for("room.state", lambda d: d["you"]["role"] == "presenter")
    await p.close()
    await org.wait_for(
        "roster.updated", lambda d: d["person"]["person"] == pid and not d["person"]["connected"]
    )
    with pytest.raises(Refused) as err:  # the only seat is still his
        await s.join("participant")
    assert err.value.code == "room_full"
    back = await s.join("participant", identity=identity)
    state = await back.wait_for("room.state")
    assert state["you"]["person"] == pid and state["you"]["role"] == "presenter"
    await org.close()
    await back.close()


async def test_grace_expiry_frees_the_seat(make_server):
    server = await make_server(grace=0.3, sweep_every=0.1)
    s = await server.setup(attendees=1)
    org = await s.join("organizer")
    p = await s.join("participant")
    pid = (await p.wait_for("room.state"))["you"]["person"]
    await p.close()
    await org.wait_for("roster.left", lambda d: d["person"]["person"] == pid, timeout=10)
    q = await s.join("participant")  # the seat is free again
    await q.wait_for("room.state")
    await q.close()
    await org.close()


async def test_same_identity_twice_replaces_the_older_connection(server):
    s = await server.setup()
    first = await s.join("participant")
    await first.wait_for("room.state")
    second = await s.join("participant", identity=await first.identity())
    await second.wait_for("room.state")
    assert (await first.wait_for("replaced"))["code"] == "replaced"
    for _ in range(100):
        if not first.connected:
            break
        await asyncio.sleep(0.05)
    assert not first.connected
    assert (await second.call("hand.raise"))["ok"]  # the new one works and is not a ghost
    org = await s.join("organizer")
    state = await org.wait_for("room.state")
    assert len([p for p in state["roster"] if p["role"] == "participant"]) == 1
    await second.close()
    await org.close()


async def test_presenter_link_is_bound_to_one_device(server):
    s = await server.setup()
    pres = await s.join("presenter", device="laptop-device-1")
    await pres.wait_for("room.state")
    with pytest.raises(Refused) as err:
        await s.join("presenter", device="someone-else-2")
    assert err.value.code == "link_bound"
    await pres.close()


async def test_sync_replays_what_was_missed(server):
    s = await server.setup()
    org = await s.join("organizer")
    p = await s.join("participant")
    rev = (await p.wait_for("room.state"))["rev"]
    assert (await org.call("event.start"))["ok"]
    q = await s.join("participant", name="Q")
    await q.wait_for("room.state")
    assert (await q.call("hand.raise"))["ok"]
    ack = await p.call("sync", {"rev": rev})
    assert ack["ok"] and ack["rev"] > rev
    names = [c["event"] for c in ack["changes"]]
    assert names[0] == "event.status" and "hand.queue" in names
    assert "roster.joined" not in names  # a participant joining is staff-only news
    assert all(c["data"]["rev"] > rev for c in ack["changes"])
    full = await p.call("sync", {"rev": rev, "full": True})
    assert full["snapshot"]["event"]["state"] == "live"
    for c in (org, p, q):
        await c.close()
