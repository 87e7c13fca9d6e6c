"""Limits hold under concurrency: 500 simultaneous joins at a 100-seat event admit exactly 100."""

from __future__ import annotations

import asyncio
import resource

import pytest

from tests.helpers import Client, Refused, Server

JOINERS = 500
SEATS = 100


@pytest.fixture(autouse=True)
def enough_files() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


async def storm(servers: list[Server], token: str) -> tuple[list[Client], list[str]]:
    """Connect JOINERS clients at once, spread over the servers; return admitted and refusals."""
    start = asyncio.Event()

    async def one(i: int) -> Client | str:
        await start.wait()
        try:
            return await servers[i % len(servers)].client(token, device=f"storm-device-{i:04d}")
        except Refused as err:
            return str(err.code)

    tasks = [asyncio.ensure_future(one(i)) for i in range(JOINERS)]
    await asyncio.sleep(0)
    start.set()
    results = await asyncio.gather(*tasks)
    admitted = [r for r in results if isinstance(r, Client)]
    refused = [r for r in results if isinstance(r, str)]
    return admitted, refused


async def check(servers: list[Server], token: str, event_id: str) -> None:
    admitted, refused = await storm(servers, token)
    try:
        assert len(admitted) == SEATS
        assert refused == ["room_full"] * (JOINERS - SEATS)
        roster = await servers[0].tribune.store.hlen(f"ev:{event_id}:roster")
        assert roster == SEATS
    finally:
        await asyncio.gather(*(c.close() for c in admitted))


async def test_500_joins_100_seats_memory(make_server) -> None:
    server = await make_server()
    s = await server.setup(attendees=SEATS)
    await check([server], s.tokens["participant"], s.event.id)


async def test_500_joins_100_seats_two_nodes_on_one_redis(make_server, redis_url) -> None:
    a = await make_server(redis_url=redis_url)
    b = await make_server(redis_url=redis_url)
    s = await a.setup(attendees=SEATS)
    await check([a, b], s.tokens["participant"], s.event.id)


async def test_roster_changes_cross_nodes(make_server, redis_url) -> None:
    """A participant on node A sees what is done on node B (AsyncRedisManager fan-out)."""
    a = await make_server(redis_url=redis_url)
    b = await make_server(redis_url=redis_url)
    s = await a.setup()
    watcher = await a.client(s.tokens["participant"])
    await watcher.wait_for("room.state")
    org = await b.client(s.tokens["organizer"])
    assert (await org.call("event.start"))["ok"]
    await watcher.wait_for("event.status", lambda d: d["event"]["state"] == "live")
    pres = await b.client(s.tokens["presenter"], device="presenter-device")
    pid = (await pres.wait_for("room.state"))["you"]["person"]
    await watcher.wait_for("roster.joined", lambda d: d["person"]["person"] == pid)
    # promotion made on node B reaches the promoted participant on node A
    me = (await watcher.wait_for("room.state"))["you"]["person"]
    assert (await org.call("role.set", {"person": me, "role": "presenter"}))["ok"]
    await watcher.wait_for("role.changed", lambda d: d["person"]["person"] == me)
    full = await watcher.call("sync", {"rev": 0, "full": True})
    assert full["snapshot"]["you"]["role"] == "presenter"
    # and node A now counts him as staff: he receives staff-only roster news from node B
    late = await b.client(s.tokens["participant"], name="Late")
    await watcher.wait_for("roster.joined", lambda d: d["person"]["name"] == "Late")
    for c in (watcher, org, pres, late):
        await c.close()
