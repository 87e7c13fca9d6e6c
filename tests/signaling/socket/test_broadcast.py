"""The broadcast fast path (signaling/socket/broadcast.py) queues, to the same recipients,
byte for byte the packets python-socketio's own `AsyncManager.emit` queues; clients get
each broadcast once, on one node and across nodes."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
import socketio

from signaling.socket import sendqueue
from signaling.socket.fanout import all_room
from signaling.socket.frames import SharedPacket
from tests.helpers import Server

PAYLOAD = {"text": "héllo ✓", "n": 3, "items": [1, 2.5, None, b"\x00\xff"], "nested": {"k": True}}


@pytest.fixture
def record(monkeypatch: pytest.MonkeyPatch) -> Callable[[], dict[str, list[bytes]]]:
    """Start recording what each engine.io socket is given to send, encoded as it goes on
    a websocket (called once the servers are made: making one installs the send)."""

    def start() -> dict[str, list[bytes]]:
        seen: dict[str, list[bytes]] = defaultdict(list)
        put = sendqueue.put  # where both paths queue a packet

        def recording(sock: Any, pkt: Any) -> bool:
            encoded = pkt.encode()
            seen[sock.sid].append(encoded if isinstance(encoded, bytes) else encoded.encode())
            return put(sock, pkt)

        monkeypatch.setattr(sendqueue, "put", recording)
        return seen

    return start


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_the_fast_path_queues_what_python_socketio_would(
    backend: str,
    make_server,
    request: pytest.FixtureRequest,
    record: Callable[[], dict[str, list[bytes]]],
) -> None:
    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    server: Server = await make_server(redis_url=url)
    queued = record()
    s = await server.setup()
    clients = [await s.join("participant") for _ in range(3)]
    for c in clients:
        await c.wait_for("room.state")
    manager = server.tribune.hub.sio.manager
    room = all_room(s.event.id)
    before = {sid: len(v) for sid, v in queued.items()}

    await manager.emit("test.fast", PAYLOAD, "/room", room=room)
    for c in clients:
        await c.wait_for("test.fast")
    # Only this test's packets: a join's later pushes may still be on their way.
    fast = {
        sid: [p for p in v[before.get(sid, 0) :] if b"test.fast" in p] for sid, v in queued.items()
    }
    fast = {sid: v for sid, v in fast.items() if v}
    assert len(fast) == 3, fast

    mark = {sid: len(v) for sid, v in queued.items()}
    await socketio.AsyncManager.emit(manager, "test.fast", PAYLOAD, "/room", room=room)
    stock = {
        sid: [p for p in v[mark.get(sid, 0) :] if b"test.fast" in p] for sid, v in queued.items()
    }
    stock = {sid: v for sid, v in stock.items() if v}
    assert fast == stock  # same recipients, same bytes
    for c in clients:
        got = [d for d in c.received["test.fast"]]
        assert len(got) >= 1 and got[0]["text"] == "héllo ✓"


async def test_a_broadcast_reaches_each_client_once_across_nodes(make_server, redis_url) -> None:
    a: Server = await make_server(redis_url=redis_url)
    b: Server = await make_server(redis_url=redis_url)
    s = await a.setup()
    on_a = [await s.join("participant") for _ in range(2)]
    on_b = [await b.client(s.tokens["participant"]) for _ in range(2)]
    for c in [*on_a, *on_b]:
        await c.wait_for("room.state")
    await a.tribune.hub.fanout.emit_room(s.event.id, "test.once", {"n": 1}, "/room")
    for c in [*on_a, *on_b]:
        await c.wait_for("test.once")
    await b.tribune.hub.fanout.emit_room(s.event.id, "test.once", {"n": 2}, "/room")
    for c in [*on_a, *on_b]:
        await c.wait_for("test.once", lambda d: d["n"] == 2)
        assert [d["n"] for d in c.received["test.once"]] == [1, 2]


async def test_across_nodes_a_broadcast_is_published_once_and_framed_once_per_node(
    make_server, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    a: Server = await make_server(redis_url=redis_url)
    b: Server = await make_server(redis_url=redis_url)
    s = await a.setup()
    clients = [await s.join("participant") for _ in range(2)]
    clients += [await b.client(s.tokens["participant"]) for _ in range(3)]
    for c in clients:
        await c.wait_for("room.state")
    queued: dict[str, list[Any]] = defaultdict(list)  # engine.io sid -> packets
    put = sendqueue.put

    def recording(sock: Any, pkt: Any) -> bool:
        queued[sock.sid].append(pkt)
        return put(sock, pkt)

    monkeypatch.setattr(sendqueue, "put", recording)
    watcher = aioredis.from_url(redis_url)
    relay = watcher.pubsub()
    await relay.subscribe("tribune-sio")  # what crosses Redis, seen by a real subscriber
    try:
        fanout = a.tribune.hub.fanout
        await fanout.emit_room(s.event.id, "test.relay", {"n": 1}, "/room")
        await fanout.emit_room(s.event.id, "test.end", {}, "/room")
        published = []
        async with asyncio.timeout(10):  # a guard against a hang, not a measure
            while not published or b"test.end" not in published[-1]:
                msg = await relay.get_message(ignore_subscribe_messages=True, timeout=1)
                if msg is not None:
                    published.append(msg["data"])
        assert sum(b"test.relay" in m for m in published) == 1
    finally:
        await relay.aclose()
        await watcher.aclose()
    for c in clients:
        await c.wait_for("test.end")
        assert c.received["test.relay"] == [{"n": 1}]
    for node, count in ((a, 2), (b, 3)):
        mine = [p for sid in node.tribune.hub.sio.eio.sockets for p in queued[sid]]
        relayed = [p for p in mine if b"test.relay" in p.encode()]
        assert len(relayed) == count
        assert all(p is relayed[0] for p in relayed)  # one packet, one frame, per node
        assert isinstance(relayed[0], SharedPacket)
