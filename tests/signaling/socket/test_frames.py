"""Frame once (signaling/socket/frames.py): a broadcast reaches an uncompressed websocket as
the very bytes python-socketio's own path (aiohttp's framing) puts on the wire, for the
three sizes of frame header; a compressed connection still gets its own deflated frame;
a long-polling client gets the broadcast too."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
import socketio
from engineio.packet import MESSAGE, Packet
from socketio.packet import EVENT

from signaling.socket import sendqueue
from signaling.socket.fanout import all_room
from tests.helpers import Server
from tests.signaling.socket.rawws import RawClient

SIZES = {"short": 10, "medium": 1000, "long": 70_000}
"""Payload sizes that take a 7-bit, a 16-bit and a 64-bit length in the frame header."""


async def _raw(server: Server, token: str, deflate: bool = False) -> RawClient:
    c = RawClient(server.url, deflate=deflate)
    await c.connect({"token": token, "device": "raw-" + str(id(c))})
    await c.until("room.state")
    return c


async def _frame_of(c: RawClient, event: str, n: int) -> bytes:
    await c.until(event, lambda d: d["n"] == n)
    return [f for f in c.frames if f.opcode == 0x2][-1].raw


@pytest.mark.parametrize("size", list(SIZES))
async def test_a_broadcast_frame_is_byte_for_byte_the_stock_one(make_server, size: str) -> None:
    server: Server = await make_server()
    s = await server.setup()
    raw = await _raw(server, s.tokens["participant"])
    manager = server.tribune.hub.sio.manager
    room = all_room(s.event.id)
    body = "x" * SIZES[size]
    try:
        await manager.emit("test.frame", {"n": 1, "body": body}, "/room", room=room)
        fast = await _frame_of(raw, "test.frame", 1)
        await socketio.AsyncManager.emit(
            manager, "test.frame", {"n": 1, "body": body}, "/room", room=room
        )
        stock = await _frame_of(raw, "test.frame", 1)
        assert fast == stock
        assert fast[0] == 0x82  # FIN, binary, no RSV bit
    finally:
        await raw.close()


async def test_a_compressed_connection_gets_its_own_frame_and_a_plain_one_the_shared(
    make_server,
) -> None:
    server: Server = await make_server(ws_compression=True)
    s = await server.setup()
    deflating = await _raw(server, s.tokens["participant"], deflate=True)
    plain = await _raw(server, s.tokens["participant"])
    payload: dict[str, Any] = {"n": 7, "body": "abc" * 400}
    try:
        await server.tribune.hub.fanout.emit_room(s.event.id, "test.frame", payload, "/room")
        await deflating.until("test.frame")
        await plain.until("test.frame")
        compressed = [f for f in deflating.frames if f.opcode == 0x2][-1]
        shared = [f for f in plain.frames if f.opcode == 0x2][-1]
        assert compressed.rsv1 and not shared.rsv1
        assert len(compressed.raw) < len(shared.raw)
        assert compressed.payload == shared.payload
        assert deflating.named("test.frame") == plain.named("test.frame") == [payload]
    finally:
        await deflating.close()
        await plain.close()


async def test_a_polling_and_a_websocket_client_both_get_a_broadcast(make_server) -> None:
    server: Server = await make_server()
    s = await server.setup()
    ws = await s.join("participant")
    got: list[Any] = []
    polling = socketio.AsyncClient(serializer="msgpack", reconnection=False)
    polling.on("test.both", got.append, namespace="/room")
    await polling.connect(
        server.url,
        namespaces=["/room"],
        auth={"token": s.tokens["participant"], "device": "polling-1"},
        transports=["polling"],
        wait_timeout=10,
    )
    try:
        await ws.wait_for("room.state")
        for n in range(3):
            await server.tribune.hub.fanout.emit_room(
                s.event.id, "test.both", {"n": n, "b": b"\x00\xff"}, "/room"
            )
        await ws.wait_for("test.both", lambda d: d["n"] == 2)
        async with asyncio.timeout(10):  # a guard against a hang, not a measure
            while len(got) < 3:
                await polling.sleep(0.05)
        assert got == ws.received["test.both"] == [{"n": n, "b": b"\x00\xff"} for n in range(3)]
    finally:
        # Closed from the server: the client's own disconnect would wait out its long poll.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await server.tribune.hub.sio.eio.disconnect(polling.eio.sid)
                while polling.connected:
                    await polling.sleep(0.05)
        await polling.eio.disconnect(abort=True)


async def test_queued_packets_and_broadcasts_written_through_keep_their_order(
    make_server,
) -> None:
    server: Server = await make_server()
    s = await server.setup()
    clients = [await s.join("participant") for _ in range(3)]
    for c in clients:
        await c.wait_for("room.state")
    hub = server.tribune.hub
    assert hub is not None
    sids = [sid for sid, x in hub.sessions.items() if x.namespace == "/room"]
    manager = hub.sio.manager
    n = 0
    for _ in range(100):
        # a packet to one connection goes through its queue; a broadcast may be written
        # straight to an idle connection: the first must still arrive first
        for sid in sids:  # an engine.io packet queued, not yet written when the broadcast goes
            one = hub.sio.packet_class(EVENT, namespace="/room", data=["test.seq", {"n": n}])
            eio_sid = manager.eio_sid_from_sid(sid, "/room")
            sendqueue.put(hub.sio.eio.sockets[eio_sid], Packet(MESSAGE, one.encode()))
        await hub.fanout.emit_room(s.event.id, "test.seq", {"n": n + 1}, "/room")
        n += 2
    for c in clients:
        await c.wait_for("test.seq", lambda d: d["n"] == n - 1)
        assert [d["n"] for d in c.received["test.seq"]] == list(range(n))
