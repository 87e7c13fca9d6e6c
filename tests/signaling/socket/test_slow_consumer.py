"""A consumer that stops reading during a broadcast storm (signaling/socket/sendqueue.py):
its queue never grows past `--send-queue`; it is told `connection.closing {reason:
"slow_consumer"}` after what it was already sent, its connection is closed, logged once
and counted; the 200 other clients receive every broadcast in order; reconnecting with
the same link, `sync {rev}` gives it the change it missed."""

from __future__ import annotations

import asyncio
import logging

import pytest

from room.ratelimit import Rate
from room.types import Role
from signaling.socket import sendqueue
from tests.helpers import Client, Server, Setup
from tests.signaling.socket.rawws import RawClient

OTHERS = 200
BOUND = 50
WINDOW = 10
"""The storm runs at most this many broadcasts ahead of the slowest of the 200 readers
(below BOUND, so only the client that stopped reading can fill its queue)."""
PAD = "x" * 16_000
MAX_BROADCASTS = 3000
"""Enough to fill any loopback buffers many times over; reaching it is a failure."""
AFTER = 20
"""Broadcasts sent after the slow consumer is closed."""


async def _storm_until_closed(server: Server, event_id: str, others: list[Client]) -> int:
    """Broadcast `test.storm {n}` until the node closes a slow consumer, then AFTER more;
    the number sent. Checks every socket's queue after each broadcast."""
    hub = server.tribune.hub
    assert hub is not None
    eio = hub.sio.eio
    registry = hub.fanout.metrics.registry
    n, closed_at = 0, None
    while closed_at is None or n < closed_at + AFTER:
        assert n < MAX_BROADCASTS, "no slow consumer was closed"
        for c in others:
            if len(c.received["test.storm"]) < n - WINDOW:
                await c.wait_for("test.storm", lambda d, k=n - WINDOW - 1: d["n"] == k)
        await hub.fanout.emit_room(event_id, "test.storm", {"n": n, "pad": PAD}, "/room")
        n += 1
        assert max(s.queue.qsize() for s in list(eio.sockets.values())) <= BOUND + 2
        if closed_at is None and registry.get_sample_value("tribune_slow_consumers_total") == 1:
            closed_at = n
    return n


async def test_a_consumer_that_stops_reading_is_closed_with_a_reason_and_resyncs(
    make_server, caplog: pytest.LogCaptureFixture
) -> None:
    server: Server = await make_server(send_queue=BOUND, identity_rate=Rate.per(1000, 1))
    s = await server.setup(attendees=OTHERS + 10)
    _, token = await server.invite(s.event, Role.PARTICIPANT, name="Slow", shared=False)
    slow = RawClient(server.url, rcvbuf=4096)
    try:
        await _scenario(server, s, token, slow, caplog)
    finally:
        await slow.close()


async def _scenario(
    server: Server, s: Setup, token: str, slow: RawClient, caplog: pytest.LogCaptureFixture
) -> None:
    await slow.connect({"token": token, "device": "slow-device"})
    seen_rev = (await slow.until("room.state"))["rev"]
    organizer = await s.join("organizer")
    others: list[Client] = []
    for _ in range(OTHERS // 25):
        others += await asyncio.gather(*(s.join("participant") for _ in range(25)))
    await asyncio.gather(*(c.wait_for("room.state") for c in [organizer, *others]))

    # The slow client reads nothing more from here.
    with caplog.at_level(logging.WARNING, logger=sendqueue.__name__):
        sent = await _storm_until_closed(server, s.event.id, others)
    assert [r.levelname for r in caplog.records if "slow consumer" in r.message] == ["WARNING"]
    assert b"tribune_slow_consumers_total 1.0" in server.tribune.hub.fanout.metrics.exposition()
    started = await organizer.call("event.start")  # a change the slow client misses
    assert started["ok"], started

    for c in others:
        await c.wait_for("test.storm", lambda d: d["n"] == sent - 1)
        assert [d["n"] for d in c.received["test.storm"]] == list(range(sent))
        assert c.connected

    # It reads again: what was already on its way, then the reason, then the close.
    await slow.drain()
    got = [d["n"] for d in slow.named("test.storm")]
    assert got == list(range(len(got))) and len(got) < sent
    assert slow.events[-1] == (sendqueue.CLOSING, {"reason": "slow_consumer"})
    assert slow.closed
    for _, data in slow.events:
        if isinstance(data, dict) and isinstance(data.get("rev"), int):
            seen_rev = max(seen_rev, data["rev"])

    back = await server.client(token, device="slow-device")
    ack = await back.call("sync", {"rev": seen_rev})
    assert ack["ok"], ack
    assert "event.status" in [c["event"] for c in ack["changes"]]
