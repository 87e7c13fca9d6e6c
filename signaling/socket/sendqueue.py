"""A bounded send queue per connection, and what happens to a consumer past it.

engine.io queues every packet for a connection on an unbounded `asyncio.Queue`, which its
writer empties as fast as the transport takes the bytes. A client that stops reading
(a frozen tab, a saturated link) would make the node hold every broadcast for it. Here
a connection whose queue holds `--send-queue` packets (`Config.send_queue`) is a slow
consumer: what is queued for it is dropped, it is sent
`connection.closing {reason: "slow_consumer"}` on each namespace it joined, then an
engine.io CLOSE, then its writer closes the websocket (a transport close to the client,
which Socket.IO answers by reconnecting, as after a drain). Its connection is closed like
any dropped one (the person keeps seat, role and hand through the grace period). The page
says so, reconnects and asks `sync {rev}` for what it missed. One log line per slow
consumer; counted in `tribune_slow_consumers` (`signaling/metrics.py`). A peer that never
reads again holds only what its transport buffers: its writer waits on the transport,
and the queue stays bounded.

This replaces engine.io 4.15.1's `AsyncSocket.send` (pinned in pyproject.toml); the stock
send also logged each packet at INFO through a disabled logger, which it no longer does.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from engineio import async_server, async_socket
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet

from signaling.socket.frames import SharedPacket, write_through

log = logging.getLogger(__name__)

REASON = "slow_consumer"
"""The `reason` of `connection.closing`, and the disconnect reason the hub is given."""
CLOSING = "connection.closing"
"""The event a slow consumer receives before its transport is closed."""


_closing: set[asyncio.Future[None]] = set()
"""Closes of slow consumers in progress."""


def _last_words(server: Any, sid: str) -> list[Any]:
    """The engine.io packets that tell a connection why it is closed: none unless the
    Socket.IO server says what (`Server.last_words`)."""
    words: Callable[[str], list[Any]] | None = getattr(server, "last_words", None)
    return words(sid) if words is not None else []


def overflow(sock: Any) -> None:
    """Drop what is queued for `sock`, queue its last words and a CLOSE, and close it
    (in the background: the caller may be a broadcast's loop)."""
    server = sock.server
    sock.overflowed = True
    queue: asyncio.Queue[Any] = sock.queue
    dropped = 0
    while True:
        try:
            pkt = queue.get_nowait()
        except asyncio.QueueEmpty:
            break
        queue.task_done()
        dropped += pkt is not None
    for pkt in _last_words(server, sock.sid):
        queue.put_nowait(pkt)
    queue.put_nowait(eio_packet.Packet(eio_packet.CLOSE))
    # The writer's stop mark: once it has written the above, it closes the websocket (a
    # browser's engine.io client acts on a CLOSE packet only on long-polling).
    queue.put_nowait(None)
    log.warning(
        "closing connection %s: a slow consumer (%d packets queued, --send-queue %d)",
        sock.sid,
        dropped,
        server.send_queue,
    )
    for hook in server.on_slow_consumer:
        hook()
    task = asyncio.ensure_future(_close(sock))
    _closing.add(task)  # the loop keeps only a weak reference to a task
    task.add_done_callback(_closing.discard)


async def _close(sock: Any) -> None:
    await sock.close(wait=False, abort=True, reason=REASON)
    sock.server.sockets.pop(sock.sid, None)


def put(sock: Any, pkt: Any) -> bool:
    """Queue `pkt` for `sock` without awaiting, within `server.send_queue` (0: unbounded).
    False when the client's answer to a ping is overdue: the caller awaits `send`, which
    closes the socket. Raises `SocketIsClosedError` for a closed socket."""
    if sock.closed:
        raise eio_exceptions.SocketIsClosedError()
    last_ping = sock.last_ping
    if last_ping and time.time() - last_ping > sock.server.ping_timeout:
        return False
    if type(pkt) is SharedPacket and write_through(sock, pkt):
        return True
    queue = sock.queue
    bound = sock.server.send_queue
    if bound and queue.qsize() >= bound and not sock.closing:
        if not getattr(sock, "overflowed", False):  # else: full again before it closed
            overflow(sock)
        return True
    queue.put_nowait(pkt)
    return True


async def send(self: Any, pkt: Any) -> None:
    """engine.io's `AsyncSocket.send` through `put`."""
    if not put(self, pkt):
        await self.check_ping_timeout()  # closes the socket


def install() -> None:
    """Bound every engine.io socket's queue (idempotent). The bound and the hooks are the
    engine.io server's: `send_queue` (0 until the app sets it) and `on_slow_consumer`."""
    async_server.AsyncServer.send_queue = 0
    async_socket.AsyncSocket.ws_out = None  # its websocket, once it has one (`wire`)
    async_server.AsyncServer.on_slow_consumer = ()
    async_socket.AsyncSocket.send = send
