"""Leaving the stage through the real server: people without media leave cleanly (one
failing hook never stops a batch)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from room.audience import sessions
from tests.helpers import Client


@pytest.fixture
def no_tracebacks(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING)
    yield caplog
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert not tracebacks, [r.getMessage() for r in tracebacks]


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
