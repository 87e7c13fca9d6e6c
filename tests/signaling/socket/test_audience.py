"""Sessions and live statistics with real Socket.IO clients joining and leaving."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from room.audience import sessions
from signaling.socket.audience import AUDIENCE
from tests.helpers import Client, http
from tests.room.audience.mmdb import write_country_db


async def join(
    server,
    token: str,
    language: str,
    device: str | None = None,
    forwarded_for: str = "",
    identity: str | None = None,
) -> Client:
    """A /room client whose browser speaks `language` (sent as Accept-Language)."""
    c = Client(server.url, "/room")

    async def any_event(event, data=None):
        async with c._cond:
            c.received[event].append(data)
            c._cond.notify_all()

    c.sio.on("*", any_event, namespace="/room")
    await c.sio.connect(
        server.url,
        namespaces=["/room"],
        auth={"token": token, "device": device or secrets.token_hex(8)}
        | ({"identity": identity} if identity else {}),
        headers={"Accept-Language": language}
        | ({"X-Forwarded-For": forwarded_for} if forwarded_for else {}),
        transports=["websocket"],
        wait_timeout=10,
    )
    await c.wait_for("room.state")
    return c


def live(pred):
    return lambda data: pred(data["stats"])


async def test_connections_become_sessions_and_statistics_are_pushed_live(server):
    s = await server.setup()
    event_id = s.event.id
    manager = await server.client(s.tokens["organizer"], namespace="/manage")
    ack = await manager.call("stats.watch")
    assert ack["ok"] and ack["stats"]["visitors"] == 0
    assert ack["stats"]["geography"] is None and "GeoIP" in ack["stats"]["geography_note"]

    ann = await join(
        server, s.tokens["participant"], "fr-FR,fr;q=0.9,en;q=0.5", device="device-ann-0001"
    )
    await manager.wait_for("stats.live", live(lambda st: st["visitors"] == 1 and st["online"] == 1))
    bob = await join(server, s.tokens["participant"], "en-GB", device="device-bob-0001")
    await ann.close()
    await manager.wait_for("stats.live", live(lambda st: st["visitors"] == 2 and st["online"] == 1))
    # Ann comes back with her identity token: the same identity, one visitor, a second session
    ann_identity = await ann.identity()
    ann = await join(server, s.tokens["participant"], "fr", identity=ann_identity)
    pushed = await manager.wait_for(
        "stats.live", live(lambda st: st["sessions"] == 3 and st["online"] == 2)
    )
    st = pushed["stats"]
    assert st["visitors"] == 2 and st["peak"]["count"] == 2
    assert st["languages"] == [{"language": "en", "visitors": 1}, {"language": "fr", "visitors": 1}]

    status, body = await http("GET", f"{server.url}/api/v1/events/{event_id}/sessions", s.api_key)
    assert status == 200 and body["count"] == 3
    rows = body["sessions"]
    assert [r["language"] for r in rows] == ["fr", "en", "fr"]
    assert {r["ip"] for r in rows} == {"127.0.0.1"}
    assert rows[0]["identity"] == rows[2]["identity"] != rows[1]["identity"]
    assert rows[0]["end"] is not None and rows[1]["end"] is None and rows[2]["end"] is None
    assert {r["format"] for r in rows} == {"live"} and {r["role"] for r in rows} == {"participant"}

    ack = await manager.call("stats.get", {"from": rows[0]["start"], "to": rows[2]["start"]})
    assert ack["ok"] and ack["stats"]["visitors"] == 2
    # from the end of Ann's first visit to her return, only Bob was there
    ack = await manager.call("stats.get", {"from": rows[0]["end"], "to": rows[2]["start"]})
    assert ack["ok"] and ack["stats"]["visitors"] == 1 and ack["stats"]["online"] == 0
    bad = await manager.call("stats.get", {"from": 10, "to": 5})
    assert bad["error"]["code"] == "invalid"

    # Ending the event closes every session still open
    org = await server.client(s.tokens["organizer"])
    assert (await org.call("event.end"))["ok"]
    # The push interval stretches to 10x the time statistics take (a huge event is pushed
    # less often), so on a loaded machine the last push may come well after 10 s.
    await manager.wait_for("stats.live", live(lambda st: st["online"] == 0), timeout=60)
    records = await sessions.all_sessions(server.tribune.store, event_id)
    assert len(records) == 4 and all(r.end is not None for r in records)
    for c in (ann, bob, org, manager):
        await c.close()


async def test_a_participant_may_not_watch_statistics(mem_server):
    s = await mem_server.setup()
    status, body = await http(
        "GET", f"{mem_server.url}/api/v1/events/{s.event.id}/stats", "trb_wrong"
    )
    assert status == 401
    status, body = await http(
        "GET", f"{mem_server.url}/api/v1/events/{s.event.id}/stats", s.api_key
    )
    assert status == 200 and body["stats"]["visitors"] == 0


@pytest.mark.parametrize("reason", ["forget", "remove"])
async def test_leaving_for_good_closes_the_session(mem_server, reason):
    s = await mem_server.setup()
    org = await mem_server.client(s.tokens["organizer"])
    ann = await join(mem_server, s.tokens["participant"], "de")
    state = await ann.wait_for("room.state")
    me = state["you"]["person"]
    if reason == "remove":
        assert (await org.call("person.remove", {"person": me}))["ok"]
    else:
        # its node died: no disconnect, the lease expired and another node forgets it
        await mem_server.app[AUDIENCE].forgot(s.event.id, me)
    records = [
        r
        for r in await sessions.all_sessions(mem_server.tribune.store, s.event.id)
        if r.identity == me
    ]
    assert len(records) == 1 and records[0].end is not None
    await org.close()
    await ann.close()


async def test_geography_from_a_configured_geoip_database(make_server, tmp_path):
    db = write_country_db(tmp_path / "country.mmdb", {"127.0.0.0/8": "FR", "10.0.0.0/8": "DE"})
    server = await make_server(geoip_path=str(db))
    d = server.app[AUDIENCE]
    assert (d.country("10.9.8.7"), d.country("8.8.8.8"), d.country("::1"), d.country("")) == (
        "DE",
        "",
        "",
        "",
    )
    s = await server.setup()
    manager = await server.client(s.tokens["organizer"], namespace="/manage")
    assert (await manager.call("stats.watch"))["ok"]
    ann = await join(server, s.tokens["participant"], "it")
    pushed = await manager.wait_for("stats.live", live(lambda st: st["visitors"] == 1))
    assert pushed["stats"]["geography"] == [{"country": "FR", "visitors": 1}]
    assert pushed["stats"]["geography_note"] is None
    [record] = await sessions.all_sessions(server.tribune.store, s.event.id)
    assert record.country == "FR" and record.language == "it"
    await ann.close()
    await manager.close()


async def test_a_session_behind_a_trusted_proxy_records_the_forwarded_address(make_server):
    server = await make_server(trusted_proxies=["127.0.0.0/8"])
    s = await server.setup()
    ann = await join(server, s.tokens["participant"], "fr", forwarded_for="203.0.113.7")
    rows = []
    for _ in range(50):
        status, body = await http(
            "GET", f"{server.url}/api/v1/events/{s.event.id}/sessions", s.api_key
        )
        rows = body.get("sessions", [])
        if rows:
            break
        await asyncio.sleep(0.1)
    assert status == 200 and [r["ip"] for r in rows] == ["203.0.113.7"]
    await ann.close()
