"""Leaving the stage through the real server: people without media leave cleanly (one
failing hook never stops a batch), and a removed attendee stops receiving media."""

from __future__ import annotations

import asyncio
import logging

import pytest

from room.audience import sessions
from tests.helpers import Client
from tests.media.conftest import wait_for
from tests.media.test_stage_wire import WirePublisher, WireViewer


async def person_id(client: Client) -> str:
    return str((await client.wait_for("room.state"))["you"]["person"])


async def test_leases_of_people_without_media_expire_into_roster_left(
    make_server, redis_url, no_tracebacks
) -> None:
    """Node A dies (stops renewing); node B, whose SFU has a subscriber, sweeps the leases
    of A's people, none of whom ever published: everyone hears `roster.left` and their
    session records are closed."""
    timing = {"lease_ttl": 1.0, "renew_every": 0.2, "sweep_every": 0.1}
    a = await make_server(redis_url=redis_url, **timing)
    b = await make_server(redis_url=redis_url, **timing)
    s = await a.setup()
    org = await b.client(s.tokens["organizer"])
    await org.wait_for("room.state")
    assert (await org.call("media.subscribe"))["ok"]  # node B's SFU exists
    gone = [await a.client(s.tokens["participant"]), await a.client(s.tokens["collaborator"])]
    ids = [await person_id(c) for c in gone]
    for pid in ids:
        await org.wait_for("roster.joined", lambda d, pid=pid: d["person"]["person"] == pid)
    store = b.tribune.store
    await wait_for_open_sessions(store, s.event.id, ids)
    await a.tribune.hub.stop()  # node A stops renewing and sweeping: its leases run out
    for pid in ids:
        await org.wait_for("roster.left", lambda d, pid=pid: d["person"]["person"] == pid, 15)
    records = await sessions.all_sessions(store, s.event.id)
    for pid in ids:
        mine = [r for r in records if r.identity == pid]
        assert mine and all(r.end is not None for r in mine), mine


async def wait_for_open_sessions(store, event_id: str, identities: list[str]) -> None:
    async def opened() -> bool:
        records = await sessions.all_sessions(store, event_id)
        return set(identities) <= {r.identity for r in records}

    for _ in range(200):
        if await opened():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the session records were never opened")


async def stage_without_media(server):
    """Organizer (subscribed: the event's SFU exists), a presenter and a participant;
    nobody has published anything."""
    s = await server.setup()
    org = await s.join("organizer")
    presenter = await s.join("presenter")
    participant = await s.join("participant")
    await org.wait_for("room.state")
    assert (await org.call("media.subscribe"))["ok"]
    return org, presenter, await person_id(presenter), participant, await person_id(participant)


async def test_media_stop_without_media_answers_ok(mem_server, no_tracebacks) -> None:
    _, presenter, _, _, _ = await stage_without_media(mem_server)
    for source in ("camera", "mic", "screen"):
        ack = await presenter.call("media.stop", {"source": source})
        assert ack == {"ok": True}, ack


async def test_media_stop_other_without_media_answers_ok(mem_server, no_tracebacks) -> None:
    org, presenter, pres_id, _, _ = await stage_without_media(mem_server)
    for payload in ({"person": pres_id, "source": "camera"}, {"person": pres_id}):
        ack = await org.call("media.stop_other", payload)
        assert ack == {"ok": True}, ack
    await presenter.wait_for("media.stopped", lambda d: d["source"] is None)


async def test_demoting_a_presenter_without_media_answers_ok(mem_server, no_tracebacks) -> None:
    org, _, _, participant, part_id = await stage_without_media(mem_server)
    assert (await org.call("role.set", {"person": part_id, "role": "presenter"}))["ok"]
    ack = await org.call("role.set", {"person": part_id, "role": "participant"})
    assert ack["ok"], ack
    assert ack["person"]["role"] == "participant"
    await participant.wait_for("media.stopped", lambda d: d["source"] is None)


async def test_removing_someone_without_media_answers_ok(mem_server, no_tracebacks) -> None:
    org, _, _, participant, part_id = await stage_without_media(mem_server)
    ack = await org.call("person.remove", {"person": part_id, "ban": True})
    assert ack == {"ok": True}, ack
    assert (await participant.wait_for("removed"))["code"] == "banned"
    await org.wait_for("roster.left", lambda d: d["person"]["person"] == part_id)


async def test_a_removed_attendee_stops_receiving_media(mem_server, no_tracebacks) -> None:
    s = await mem_server.setup()
    org = await s.join("organizer")
    pres = WirePublisher(await s.join("presenter"), audio=False)
    keeps = WireViewer(await s.join("participant"))
    removed = WireViewer(await s.join("participant"))
    removed_id = await person_id(removed.client)
    await org.wait_for("room.state")
    plane = mem_server.tribune.media
    assert plane is not None
    try:
        assert (await pres.publish(("camera",)))["ok"]
        await keeps.subscribe()
        await removed.subscribe()
        sfu = plane.sfus[s.event.id]
        removed_sid = removed.client.sio.get_sid("/room")
        await wait_for(lambda: removed.pc.connectionState == "connected", 15, "viewer connected")
        await wait_for(lambda: sum(removed.frames.values()) > 0, 15, "frames to the viewer")
        assert removed_sid in sfu.stats().per_subscriber
        ack = await org.call("person.remove", {"person": removed_id})
        assert ack == {"ok": True}, ack
        await removed.client.wait_for("removed")
        # the SFU dropped his subscription, and his peer connection ends
        assert removed_sid not in sfu.stats().per_subscriber
        await wait_for(
            lambda: removed.pc.connectionState in ("closed", "failed"), 30, "viewer's pc ends"
        )
        # the others keep watching
        before = sum(keeps.frames.values())
        await wait_for(lambda: sum(keeps.frames.values()) > before, 15, "frames to the others")
        assert keeps.client.connected
    finally:
        await keeps.close()
        await removed.close()
        await pres.close()


async def test_a_removed_presenter_on_another_node_stops_publishing(
    make_server, redis_url, no_tracebacks
) -> None:
    """The presenter publishes through node A; the organizer on node B removes him: his
    publication on A's SFU closes and the stage empties."""
    a = await make_server(redis_url=redis_url)
    b = await make_server(redis_url=redis_url)
    s = await a.setup()
    org = await b.client(s.tokens["organizer"])
    pres = WirePublisher(await a.client(s.tokens["presenter"]), audio=False)
    pres_id = await person_id(pres.client)
    await org.wait_for("room.state")
    try:
        assert (await pres.publish(("camera",)))["ok"]
        plane = a.tribune.media
        assert plane is not None
        sfu = plane.sfus[s.event.id]
        await wait_for(lambda: pres.pc.connectionState == "connected", 15, "publisher connected")
        assert sfu.stats().publishers == 1
        await org.wait_for("stage.changed", lambda d: d["stage"]["camera"] == [pres_id])
        ack = await org.call("person.remove", {"person": pres_id, "ban": True})
        assert ack == {"ok": True}, ack
        await pres.client.wait_for("removed")
        await org.wait_for("stage.changed", lambda d: d["stage"]["camera"] == [])
        await wait_for(lambda: sfu.stats().publishers == 0, 15, "publisher dropped on node A")
        assert sfu.stage() == ()
        await wait_for(
            lambda: pres.pc.connectionState in ("closed", "failed"), 30, "publisher's pc ends"
        )
    finally:
        await pres.close()


async def test_a_failing_hook_stops_neither_the_others_nor_the_delivery(
    mem_server, caplog: pytest.LogCaptureFixture
) -> None:
    """A hook that raises (a plug-in's bug) is logged once; the hooks after it run and the
    room still hears `roster.left`."""
    caplog.set_level(logging.WARNING)
    hub = mem_server.tribune.hub
    assert hub is not None

    async def broken(event_id: str, identity: str) -> None:
        raise RuntimeError("a broken hook")

    hub.on_forget.insert(0, broken)
    s = await mem_server.setup()
    org = await s.join("organizer")
    leaving = await s.join("participant")
    pid = await person_id(leaving)
    await wait_for_open_sessions(mem_server.tribune.store, s.event.id, [pid])
    ack = await org.call("person.remove", {"person": pid})
    assert ack == {"ok": True}, ack
    await org.wait_for("roster.left", lambda d: d["person"]["person"] == pid)
    records = await sessions.all_sessions(mem_server.tribune.store, s.event.id)
    assert [r.end is not None for r in records if r.identity == pid] == [True]
    failures = [r for r in caplog.records if r.exc_info]
    assert len(failures) == 1 and "broken" in failures[0].getMessage(), failures
