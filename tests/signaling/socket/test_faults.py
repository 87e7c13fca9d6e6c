"""Faults on two nodes sharing one real redis-server: a store outage longer than the lease
evicts nobody, and the death of a node is cleaned up by the survivor."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import secrets
import signal

import pytest

from room.audience import sessions
from room.presence import roster
from tests.helpers import Client, Server
from tests.media.test_stage_leaving import person_id, wait_for_open_sessions
from tests.own_redis import TIMING, Redis


# python-socketio's Redis manager drops its old client unclosed when it reconnects after
# an outage; the garbage collector then warns about that client's sockets.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_a_store_outage_longer_than_the_lease_evicts_nobody(
    own_redis: Redis, make_server, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis is killed for several lease periods and restarted on its append-only file:
    everyone stays connected and in the roster, acts again, and the leases' bookkeeping
    logs one warning per node, no traceback."""
    caplog.set_level(logging.INFO)
    a: Server = await make_server(redis_url=own_redis.url, **TIMING)
    b: Server = await make_server(redis_url=own_redis.url, **TIMING)
    s = await a.setup()
    org = await b.client(s.tokens["organizer"])
    await org.wait_for("room.state")
    people: list[Client] = [
        await a.client(s.tokens["participant"]),
        await b.client(s.tokens["participant"]),
        await a.client(s.tokens["presenter"]),
    ]
    ids = [await person_id(c) for c in people]
    for pid in ids:
        await org.wait_for("roster.joined", lambda d, pid=pid: d["person"]["person"] == pid)

    own_redis.kill()
    await asyncio.sleep(4 * TIMING["lease_ttl"])
    own_redis.start()
    # Every node renews at once, then sweeps again one lease period later: wait past it.
    await asyncio.sleep(3 * TIMING["lease_ttl"])

    assert all(c.sio.connected for c in [org, *people])
    listed = {p.identity: p for p in await roster.people(a.tribune.store, s.event.id)}
    for pid in ids:
        assert pid in listed and listed[pid].connected, (pid, listed)
    assert not org.received.get("roster.left"), org.received["roster.left"]
    for c in people[:2]:
        ack = await c.call("hand.raise")
        assert ack == {"ok": True}, ack
    ack = await people[2].call("question.ask", {"text": "still here?"})
    assert ack["ok"], ack
    said = [r.getMessage() for r in caplog.records if r.name == "signaling.socket.hub"]
    assert sum("unreachable" in m for m in said) == 2, said  # one per node
    assert sum("answers again" in m for m in said) == 2, said
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert not tracebacks, [r.getMessage() for r in tracebacks]
    gc.collect()  # the Redis manager's dropped clients warn now, under the filter above


async def test_the_survivor_cleans_up_after_a_node_killed_by_sigkill(
    make_server, redis_url: str, doomed_node: tuple[str, int], no_tracebacks
) -> None:
    """Node A is killed -9 with three people on it: staff on node B hear `roster.left` for
    each, their session records are closed, their seats are free, and B logs no traceback."""
    url, pid = doomed_node
    b: Server = await make_server(redis_url=redis_url, **TIMING)
    s = await b.setup()
    org = await b.client(s.tokens["organizer"])
    await org.wait_for("room.state")
    gone: list[Client] = []
    for role in ("participant", "participant", "presenter"):
        c = Client(url)
        b.clients.append(c)
        await c.connect(s.tokens[role], secrets.token_hex(8))
        gone.append(c)
    ids = [await person_id(c) for c in gone]
    for who in ids:
        await org.wait_for("roster.joined", lambda d, who=who: d["person"]["person"] == who)
    assert (await gone[0].call("hand.raise")) == {"ok": True}
    await org.wait_for("hand.queue", lambda d: [h["person"] for h in d["queue"]] == ids[:1])
    store = b.tribune.store
    await wait_for_open_sessions(store, s.event.id, ids)

    os.kill(pid, signal.SIGKILL)
    killed_at = await store.now()
    for who in ids:
        await org.wait_for("roster.left", lambda d, who=who: d["person"]["person"] == who, 15)
    records = await sessions.all_sessions(store, s.event.id)
    for who in ids:
        mine = [r for r in records if r.identity == who]
        assert mine and all(r.end is not None for r in mine), mine
        # closed as of the dead node's last renewal (every 0.2 s), not at the sweep
        # (a lease period and the grace later)
        assert all(killed_at - 0.5 <= r.end <= killed_at + 0.3 for r in mine), (killed_at, mine)
    assert {p.identity for p in await roster.people(store, s.event.id)} == {(await person_id(org))}
    assert (await org.call("hand.next")) == {"ok": True, "person": None}  # hand lowered
    again = await b.client(s.tokens["participant"])  # the seats were given back
    await again.wait_for("room.state")
