"""Replay sessions when a node dies: two nodes share one real redis-server; the node holding
a replay connection is killed -9, and the survivor's sweep closes that session as of the
dead node's last renewal, while the survivor's own replay viewer keeps watching."""

from __future__ import annotations

import asyncio
import os
import signal

from room import lifecycle
from room.audience import sessions
from room.events import change_event
from tests.helpers import Client, Server, http
from tests.own_redis import TIMING


async def _replays(store, event_id: str, count: int) -> list[sessions.SessionRecord]:
    for _ in range(200):
        found = [r for r in await sessions.all_sessions(store, event_id) if r.format == "replay"]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("the replay sessions were never opened")


async def test_a_dead_nodes_replay_sessions_close_as_of_its_last_renewal(
    make_server, redis_url: str, doomed_node: tuple[str, int], no_tracebacks
) -> None:
    url, pid = doomed_node
    b: Server = await make_server(redis_url=redis_url, **TIMING)
    s = await b.setup()
    store = b.tribune.store
    await change_event(store, s.event.id, lifecycle.finish)
    await change_event(store, s.event.id, lifecycle.offer_replay)  # on demand

    doomed = Client(url, "/replay")
    b.clients.append(doomed)
    await doomed.connect(s.tokens["participant"], "device-on-the-doomed-node")
    [gone] = await _replays(store, s.event.id, 1)
    stays = await b.client(s.tokens["participant"], "/replay", device="device-on-the-survivor")
    survivor = next(r for r in await _replays(store, s.event.id, 2) if r.id != gone.id)
    assert gone.end is None and survivor.end is None

    os.kill(pid, signal.SIGKILL)
    killed_at = await store.now()
    for _ in range(300):
        [closed] = [r for r in await sessions.all_sessions(store, s.event.id) if r.id == gone.id]
        if closed.end is not None:
            break
        await asyncio.sleep(0.05)
    assert closed.end is not None, closed
    # closed as of the dead node's last renewal (every 0.2 s), not at the sweep (a lease
    # period later)
    assert killed_at - 0.5 <= closed.end <= killed_at + 0.3, (killed_at, closed)

    # The survivor's viewer is renewed by its node: its session stays open, lease after lease
    await asyncio.sleep(3 * TIMING["lease_ttl"])
    [still] = [r for r in await sessions.all_sessions(store, s.event.id) if r.id == survivor.id]
    assert still.end is None and stays.sio.connected, still
    status, body = await http("GET", f"{b.url}/api/v1/events/{s.event.id}/stats", s.api_key)
    assert status == 200 and body["stats"]["formats"]["replay"]["visitors"] == 2, body

    # A viewer who leaves closes his session and lets go of his lease: nothing lapses later
    await stays.close()
    for _ in range(200):
        [left] = [r for r in await sessions.all_sessions(store, s.event.id) if r.id == survivor.id]
        if left.end is not None:
            break
        await asyncio.sleep(0.05)
    assert left.end is not None
    await asyncio.sleep(3 * TIMING["lease_ttl"])
    [after] = [r for r in await sessions.all_sessions(store, s.event.id) if r.id == survivor.id]
    assert after.end == left.end
