"""Frame once: a broadcast's WebSocket frame is built once and written as is to every
recipient's websocket.

A broadcast's engine.io packet is shared by its recipients (`SharedPacket`). Its
websocket encoding carries the whole WebSocket frame (header + payload, unmasked as a
server sends), built the first time a writer asks for it. The recipient's own writer
(engine.io's, fed from the socket's queue, so a recipient's packets keep their order)
hands it to `wire.PlainWebSocket.send`, which writes those bytes to the transport when
the connection is uncompressed (`write_frame`). A connection that negotiated
permessage-deflate (`--ws-compression` and a client that offers it) compresses with its
own zlib state, so its frames differ: it goes through aiohttp's own `send_bytes`. So
does a long-polling client, which encodes the packet in base64 (`encode(b64=True)`).

Write through (`write_through`, called by `sendqueue.put`): when the recipient's writer
waits on an empty queue (nothing of this connection is queued or being written) and its
transport is not paused, the frame is written from the broadcast's loop itself, without
waking the writer: no task step, queue get or timer per recipient. Otherwise the packet
is queued as above; a paused transport (a client that reads slowly) thus falls back to
the bounded queue. This relies on asyncio.Queue's `_queue` and `_getters` too.

`write_frame` does what aiohttp's `WebSocketWriter.send_frame` does for an uncompressed
frame, through private details of aiohttp's writer (`_closing`, `_output_size`,
`_limit`, its protocol's `_drain_helper`); when they are missing it returns False and
the caller takes the normal path. tests/signaling/socket/test_frames.py checks the bytes
a client receives against aiohttp's own framing.
"""

from __future__ import annotations

import struct
import time
from typing import Any

from aiohttp import ClientConnectionResetError
from aiohttp.web import WebSocketResponse
from engineio import packet as eio_packet

BINARY = 0x82
"""FIN + binary opcode."""
TEXT = 0x81
"""FIN + text opcode."""


def frame(payload: bytes, first: int) -> bytes:
    """A whole unmasked WebSocket frame (RFC 6455 5.2) around `payload`."""
    n = len(payload)
    if n < 126:
        return struct.pack("!BB", first, n) + payload
    if n < 65536:
        return struct.pack("!BBH", first, 126, n) + payload
    return struct.pack("!BBQ", first, 127, n) + payload


class FramedBytes(bytes):
    """A binary engine.io packet as a websocket carries it, with its frame."""

    frame: bytes


class FramedText(str):
    """A text engine.io packet as a websocket carries it, with its frame."""

    frame: bytes


class SharedPacket(eio_packet.Packet):  # type: ignore[misc]
    """An engine.io MESSAGE packet queued to every recipient of one broadcast.

    Encoded once per kind of transport: engine.io's `Packet.encode` caches its first
    result whatever `b64` asks, so a packet shared by a websocket and a polling client
    would give one of them the other's encoding."""

    def __init__(self, data: Any) -> None:
        super().__init__(eio_packet.MESSAGE, data)
        self._ws: FramedBytes | FramedText | None = None
        self._b64: str | None = None

    def encode(self, b64: bool = False) -> Any:
        if b64:
            if self._b64 is None:
                self._b64 = eio_packet.Packet(eio_packet.MESSAGE, self.data).encode(b64=True)
            return self._b64
        if self._ws is None:
            encoded = eio_packet.Packet(eio_packet.MESSAGE, self.data).encode()
            ws: FramedBytes | FramedText
            if isinstance(encoded, bytes):
                ws = FramedBytes(encoded)
                ws.frame = frame(encoded, BINARY)
            else:
                ws = FramedText(encoded)
                ws.frame = frame(encoded.encode(), TEXT)
            self._ws = ws
        return self._ws


def write_through(sock: Any, pkt: SharedPacket) -> bool:
    """Write a broadcast's frame straight to `sock`'s websocket, without waking its writer,
    when that keeps the order: the writer is idle (waiting on an empty queue, so nothing
    of this connection is queued or being written) and the transport takes bytes now (not
    paused). False otherwise (or for a connection that compresses, is upgrading, closing,
    or whose answer to a ping is overdue): the caller queues the packet."""
    global _broken
    ws: WebSocketResponse | None = sock.ws_out
    if ws is None or not sock.upgraded or sock.upgrading or sock.closing or sock.closed:
        return False
    queue = sock.queue
    if queue._queue or not queue._getters or _broken:
        return False
    last_ping = sock.last_ping
    if last_ping and time.time() - last_ping > sock.server.ping_timeout:
        return False
    try:
        writer: Any = ws._writer
        if writer is None or writer.compress or writer._closing or writer.protocol._paused:
            return False
    except AttributeError:  # an aiohttp without these details: queue, as the stock path
        _broken = True
        return False
    transport = writer.transport
    if transport is None or transport.is_closing():
        return False
    transport.write(pkt.encode().frame)
    return True


_broken = False
"""Set when aiohttp's writer lacks a detail `write_frame` needs (then never tried again)."""


async def write_frame(sock: WebSocketResponse, data: FramedBytes | FramedText) -> bool:
    """Write `data`'s prebuilt frame to an uncompressed websocket, with aiohttp's flow
    control (wait while the transport is paused). False: the caller sends `data` the
    normal way (compressed connection, not prepared, or an aiohttp without these
    details)."""
    global _broken
    writer: Any = sock._writer
    if _broken or writer is None or writer.compress:
        return False
    try:
        closing = writer._closing
        transport = writer.transport
        size = writer._output_size
        limit = writer._limit
        protocol = writer.protocol
    except AttributeError:
        _broken = True
        return False
    if closing or transport is None or transport.is_closing():
        raise ClientConnectionResetError("Cannot write to closing transport")
    out = data.frame
    transport.write(out)
    size += len(out)
    if size > limit:
        size = 0
        if protocol._paused:
            writer._output_size = 0
            await protocol._drain_helper()
            return True
    writer._output_size = size
    return True
