"""Broadcasts without a task per recipient, and a send loop without `wait_for`.

python-socketio encodes a broadcast once, then creates one asyncio Task per recipient
to queue it (`AsyncManager.emit`), and engine.io's per-socket writer waits for each
packet through `asyncio.wait_for`, another Task per message on Python 3.11. Both were
measured as a third of the fan-out cost (docs/benchmarks.md). Here a broadcast is
encoded once and queued to every recipient's engine.io socket in one loop (queueing on
an unbounded queue never waits), and the writer waits under `asyncio.timeout`.

Both replace private details of python-socketio 5.18.1 and python-engineio 4.15.1,
which pyproject.toml pins for that reason (as aiortc is pinned);
tests/signaling/socket/test_broadcast.py checks that the packets a broadcast queues are
byte for byte those of python-socketio's own path.

Each packet is a `frames.SharedPacket`: its WebSocket frame is built once and written as
is to every uncompressed websocket recipient (`frames`), through each recipient's own
queue (its order kept), which `sendqueue` bounds.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio
from engineio import async_socket
from engineio import exceptions as eio_exceptions
from socketio import packet

from signaling.socket import sendqueue
from signaling.socket.frames import SharedPacket

log = logging.getLogger(__name__)


def _as_list(data: Any) -> list[Any]:
    if isinstance(data, tuple):
        return list(data)
    return [] if data is None else [data]


async def deliver(
    manager: Any, event: str, data: Any, namespace: str, room: Any, skip_sid: Any
) -> None:
    """`AsyncManager.emit` without a callback, on this node: encode once, queue to each
    recipient in turn. A recipient that is gone or closing is skipped, as the stock path's
    failing task was."""
    if namespace not in manager.rooms:
        return
    skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
    pkt = manager.server.packet_class(
        packet.EVENT, namespace=namespace, data=[event, *_as_list(data)]
    )
    encoded = pkt.encode()
    eio_pkts = [SharedPacket(p) for p in (encoded if isinstance(encoded, list) else [encoded])]
    # Listed first: a socket closing during the loop changes the rooms.
    targets = [eio for sid, eio in manager.get_participants(namespace, room) if sid not in skip]
    sockets = manager.server.eio.sockets
    put = sendqueue.put  # no coroutine per recipient: queueing never waits
    for eio_sid in targets:
        sock = sockets.get(eio_sid)
        if sock is None:
            continue
        for p in eio_pkts:
            try:
                if not put(sock, p):
                    await sock.send(p)  # a ping overdue: closes it
            except eio_exceptions.SocketIsClosedError:
                break
            except Exception:  # one recipient never stops the others
                log.exception("sending to %s failed", eio_sid)
                break


class LocalManager(socketio.AsyncManager):  # type: ignore[misc]
    """The manager of a single node (no Redis): broadcasts through `deliver`."""

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if callback is not None:
            await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to
            )
            return
        await deliver(self, event, data, namespace, to or room, skip_sid)


async def _poll(self: Any) -> list[Any]:
    """engine.io's `AsyncSocket.poll` under `asyncio.timeout` instead of `wait_for`."""
    queue = self.queue
    if queue.qsize():  # no timer when there is something to send already
        packets = [queue.get_nowait()]
    else:
        try:
            async with asyncio.timeout(self.server.ping_interval + self.server.ping_timeout):
                packets = [await queue.get()]
        except (TimeoutError, asyncio.CancelledError):
            raise eio_exceptions.QueueEmpty() from None
    queue.task_done()
    if packets == [None]:
        return []
    while queue.qsize():
        pkt = queue.get_nowait()
        queue.task_done()
        if pkt is None:
            queue.put_nowait(None)
            break
        packets.append(pkt)
    return packets


def install() -> None:
    """Put the writer's wait on `asyncio.timeout` and bound each socket's queue
    (`sendqueue`); idempotent."""
    async_socket.AsyncSocket.poll = _poll
    sendqueue.install()
