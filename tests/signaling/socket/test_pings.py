"""The heartbeat on a timer (signaling/socket/pings.py): clients keep being pinged (a
client that hears no PING within ping_interval + ping_timeout drops itself), a client
that stops answering is dropped, and no idle connection holds a ping task."""

from __future__ import annotations

import asyncio

from tests.helpers import Client, Server


def _ping_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if "_send_ping" in repr(t.get_coro())]


async def test_idle_clients_are_pinged_by_a_timer_and_stay(make_server) -> None:
    server: Server = await make_server()
    hub = server.tribune.hub
    assert hub is not None
    eio = hub.sio.eio
    eio.ping_interval, eio.ping_timeout = 0.2, 0.4  # told to clients in the OPEN packet
    s = await server.setup()
    clients = [await s.join("participant") for _ in range(3)]
    for c in clients:
        await c.wait_for("room.state")
    pings = [_count_pings(c) for c in clients]
    for _ in range(100):  # several PING / PONG rounds, however long they take
        if all(len(p) >= 3 for p in pings):
            break
        await asyncio.sleep(0.1)
    assert all(len(p) >= 3 for p in pings), pings
    assert not _ping_tasks()
    for c in clients:
        assert c.sio.connected
        assert (await c.call("hand.raise"))["ok"]


async def test_a_client_that_stops_answering_pings_is_dropped(make_server) -> None:
    server: Server = await make_server()
    hub = server.tribune.hub
    assert hub is not None
    eio = hub.sio.eio
    eio.ping_interval, eio.ping_timeout = 0.2, 0.3
    s = await server.setup()
    c = await s.join("participant")
    await c.wait_for("room.state")
    sid = next(iter(hub.sessions))
    c.sio.eio._send_packet = _no_pong(c.sio.eio._send_packet)
    for _ in range(100):
        if sid not in hub.sessions:
            break
        await asyncio.sleep(0.1)
    assert sid not in hub.sessions


def _count_pings(c: Client) -> list[int]:
    """The PINGs client `c` receives (it answers each with a PONG, as before)."""
    seen: list[int] = []
    receive = c.sio.eio._receive_packet

    async def counting(pkt):  # type: ignore[no-untyped-def]
        if pkt.packet_type == 2:  # PING
            seen.append(1)
        return await receive(pkt)

    c.sio.eio._receive_packet = counting
    return seen


def _no_pong(send):  # type: ignore[no-untyped-def]
    async def send_but_pongs(pkt):  # type: ignore[no-untyped-def]
        if pkt.packet_type == 3:  # PONG
            return None
        return await send(pkt)

    return send_but_pongs
