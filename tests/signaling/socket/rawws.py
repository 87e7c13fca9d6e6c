"""A Socket.IO client on a bare TCP socket: it does the WebSocket handshake and framing
itself, so a test sees each frame's bytes as they came, can offer permessage-deflate,
and can stop reading (a slow consumer) with a small receive buffer."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import msgpack


@dataclass
class Frame:
    raw: bytes
    """The frame's bytes as received (header + payload)."""
    opcode: int
    rsv1: bool
    payload: bytes
    """The payload, inflated when the frame was compressed."""


@dataclass
class RawClient:
    url: str
    namespace: str = "/room"
    deflate: bool = False
    rcvbuf: int | None = None
    """SO_RCVBUF before connecting: a small one makes a client that stops reading fill
    the server's buffers soon."""
    frames: list[Frame] = field(default_factory=list)
    events: list[tuple[str, Any]] = field(default_factory=list)
    closed: bool = False
    """The server sent engine.io CLOSE or closed the TCP connection."""
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None
    _inflate: Any = None

    async def connect(self, auth: dict[str, Any]) -> None:
        parts = urlsplit(self.url)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
        # A small stream buffer too: the stream reads ahead of `frame` up to twice it.
        limit = 4096 if self.rcvbuf else 2**16
        self._reader, self._writer = await asyncio.open_connection(sock=sock, limit=limit)
        key = base64.b64encode(os.urandom(16)).decode()
        ext = "Sec-WebSocket-Extensions: permessage-deflate\r\n" if self.deflate else ""
        self._writer.write(
            (
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                f"Host: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n"
            ).encode()
        )
        head = (await self._reader.readuntil(b"\r\n\r\n")).decode().lower()
        assert head.startswith("http/1.1 101"), head
        if "permessage-deflate" in head:
            self._inflate = zlib.decompressobj(-15)
        opened = await self.frame()
        assert opened.payload.startswith(b"0"), opened  # engine.io OPEN
        self.send(msgpack.packb({"type": 0, "nsp": self.namespace, "data": auth}))

    def send(self, payload: bytes, opcode: int = 0x2) -> None:
        """One masked client frame."""
        assert self._writer is not None
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self._writer.write(head + mask + body)

    def emit(self, event: str, data: Any, ack_id: int | None = None) -> None:
        pkt: dict[str, Any] = {"type": 2, "nsp": self.namespace, "data": [event, data]}
        if ack_id is not None:
            pkt["id"] = ack_id
        self.send(msgpack.packb(pkt))

    async def frame(self) -> Frame:
        """The next frame; answers engine.io pings; records Socket.IO events."""
        assert self._reader is not None
        r = self._reader
        head = await r.readexactly(2)
        n = head[1] & 0x7F
        ext = b""
        if n == 126:
            ext = await r.readexactly(2)
            n = struct.unpack("!H", ext)[0]
        elif n == 127:
            ext = await r.readexactly(8)
            n = struct.unpack("!Q", ext)[0]
        payload = await r.readexactly(n)
        rsv1 = bool(head[0] & 0x40)
        data = payload
        if rsv1:
            assert self._inflate is not None
            data = self._inflate.decompress(payload + b"\x00\x00\xff\xff")
        f = Frame(head + ext + payload, head[0] & 0x0F, rsv1, data)
        self.frames.append(f)
        if f.opcode == 0x1:
            if data == b"2":
                self.send(b"3", opcode=0x1)
            elif data.startswith(b"1"):
                self.closed = True
        elif f.opcode == 0x2:
            pkt = msgpack.unpackb(data, strict_map_key=False)
            if pkt.get("type") == 2 and pkt.get("nsp") == self.namespace:
                name, *args = pkt["data"]
                self.events.append((name, args[0] if args else None))
        elif f.opcode == 0x8:
            self.closed = True
        return f

    async def until(self, event: str, pred: Any = None) -> Any:
        """Read frames until `event` (satisfying `pred`) arrives; its data."""
        while True:
            before = len(self.events)
            await self.frame()
            for name, data in self.events[before:]:
                if name == event and (pred is None or pred(data)):
                    return data

    async def drain(self) -> None:
        """Read every frame until the server closes (engine.io CLOSE, a close frame, or the
        end of the stream)."""
        try:
            while not self.closed:
                await self.frame()
        except (asyncio.IncompleteReadError, ConnectionError):
            self.closed = True

    def named(self, event: str) -> list[Any]:
        return [d for n, d in self.events if n == event]

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except (ConnectionError, OSError):
                pass
