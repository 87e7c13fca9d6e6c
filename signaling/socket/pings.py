"""engine.io's heartbeat without a task per connection.

engine.io (4.x, pinned) schedules each connection's next PING as a background task that
sleeps `ping_interval` and then sends: one task, two coroutine frames and a future held
by every idle connection, for nothing but a timer. Here the next PING is a loop timer
(`call_later`) whose callback queues the packet without awaiting (`sendqueue.put`: it
goes through the writer, or straight to the transport when that keeps the order). The
protocol is unchanged: the same PING, `ping_interval` after the previous PONG, and the
same timeout for a client that does not answer (`last_ping`, checked on every send).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from engineio import async_socket
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet

from signaling.socket import sendqueue


def _ping(sock: Any) -> None:
    if sock.closing or sock.closed:
        return
    sock.last_ping = time.time()
    try:
        sendqueue.put(sock, eio_packet.Packet(eio_packet.PING))
    except eio_exceptions.SocketIsClosedError:
        pass


def schedule_ping(self: Any) -> None:
    """engine.io's `AsyncSocket.schedule_ping` as a timer: only after the previous PING
    was answered (its `last_ping` set), as the stock one."""
    if self.last_ping:
        self.last_ping = None
        asyncio.get_running_loop().call_later(self.server.ping_interval, _ping, self)


def install() -> None:
    """Every engine.io socket pings through a timer (idempotent)."""
    async_socket.AsyncSocket.schedule_ping = schedule_ping
