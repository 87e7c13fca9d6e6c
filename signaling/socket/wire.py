"""Socket.IO plumbing: msgpack packets that survive bad bytes, no per-connection deflate."""

from __future__ import annotations

import logging
from collections.abc import Callable, Container
from typing import Any

import msgpack
import socketio
from aiohttp.web import WebSocketResponse
from engineio import packet as eio_packet
from engineio.async_drivers import aiohttp as eio_aiohttp
from socketio import packet
from socketio.msgpack_packet import MsgPackPacket

from signaling.socket import frames, pings, sendqueue
from signaling.socket.slimqueue import SlimQueue

log = logging.getLogger(__name__)

RESERVED = frozenset({"connect", "connect_error", "disconnect", "*"})
"""Names python-socketio gives a meaning of its own; never a client event of ours."""


class BadPacket(ValueError):
    """The client sent bytes that are not a Socket.IO msgpack packet."""


class TolerantMsgPackPacket(MsgPackPacket):  # type: ignore[misc]
    """Decodes invalid UTF-8 as lone surrogates instead of raising, so the payload
    validator can answer `invalid` with the field; undecodable bytes raise BadPacket."""

    def decode(self, encoded_packet: Any) -> None:
        try:
            decoded = msgpack.loads(
                encoded_packet, unicode_errors="surrogateescape", strict_map_key=False
            )
            self.packet_type = decoded["type"]
            self.data = decoded.get("data")
            self.id = decoded.get("id")
            self.namespace = decoded["nsp"]
        except Exception as exc:  # any malformed input is the client's fault
            raise BadPacket(str(exc)) from None


class PlainWebSocket(eio_aiohttp.WebSocket):  # type: ignore[misc]
    """aiohttp's WebSocketResponse negotiates permessage-deflate by default, which costs
    each connection its own zlib state (4-5x the memory) and ~30% CPU per delivery.
    Tribune serves uncompressed unless `--ws-compression` is set."""

    compress = False

    # `environ` is engine.io's request environ, free-form by its contract.
    async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = WebSocketResponse(
            max_msg_size=self.server.max_http_buffer_size, compress=self.compress
        )
        await self._sock.prepare(request)
        self.environ = environ
        sock = getattr(self.handler, "__self__", None)  # the engine.io socket
        if sock is not None and not self.compress:  # `frames.write_through` writes to it
            sock.ws_out = self._sock
        await self.handler(self)
        return self._sock

    async def send(self, message: Any) -> None:
        """A broadcast's packet goes out as the frame built once for all its recipients
        (`frames`), unless this connection compresses."""
        cls = type(message)
        if (cls is frames.FramedBytes or cls is frames.FramedText) and await frames.write_frame(
            self._sock, message
        ):
            return
        await super().send(message)


class CompressedWebSocket(PlainWebSocket):
    compress = True


class Server(socketio.AsyncServer):  # type: ignore[misc]
    """AsyncServer that drops a client sending malformed packets without a traceback, and
    lets through only the client events each namespace declares.

    python-socketio looks a client event's name up among the namespace's handlers, so a
    client sending `connect` or `disconnect` would call the server's own connect and
    disconnect handlers, and one sending `*` the catch-all with shifted arguments. Here
    an event whose name is not declared (`declare`) never gets that far: it goes, name
    unchanged, to the namespace's catch-all handler, which answers it (the hub's
    dispatch: a rate-limit token, then `invalid`), or is dropped when there is none."""

    def __init__(
        self, *args: Any, ws_compression: bool = False, send_queue: int = 0, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        websocket = CompressedWebSocket if ws_compression else PlainWebSocket
        self.eio._async = dict(self.eio._async, websocket=websocket)
        self._declared: dict[str, Container[str]] = {}
        self.on_slow_consumer: list[Callable[[], None]] = []
        """Called once per connection closed as a slow consumer (`sendqueue`)."""
        # Read by `sendqueue.send` / `overflow` on the engine.io server.
        self.eio.send_queue = send_queue
        self.eio.on_slow_consumer = self.on_slow_consumer
        self.eio.last_words = self.last_words
        # Each connection's send queue, without asyncio.Queue's ~3 KiB of empty deques.
        self.eio.create_queue = SlimQueue
        pings.install()  # no task per connection for its heartbeat

    def last_words(self, eio_sid: str) -> list[Any]:
        """`connection.closing {reason: "slow_consumer"}` on each namespace the engine.io
        connection joined, as engine.io packets."""
        out = []
        for namespace in list(self.manager.get_namespaces()):
            if self.manager.sid_from_eio_sid(eio_sid, namespace) is None:
                continue
            data = [sendqueue.CLOSING, {"reason": sendqueue.REASON}]
            encoded = self.packet_class(packet.EVENT, namespace=namespace, data=data).encode()
            for p in encoded if isinstance(encoded, list) else [encoded]:
                out.append(eio_packet.Packet(eio_packet.MESSAGE, p))
        return out

    def declare(self, namespace: str, events: Container[str]) -> None:
        """Accept on `namespace` the client events named in `events` (looked up on each
        event, so a live mapping of routes counts the routes added later)."""
        self._declared[namespace] = events

    def declared(self, namespace: str, event: Any) -> bool:
        return (
            isinstance(event, str)
            and event not in RESERVED
            and event in self._declared.get(namespace, ())
        )

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: Any, data: Any) -> None:
        # A packet's data is [name, *args]; msgpack lets a client send any shape.
        if not isinstance(data, list) or not data:
            data = [None]
        await super()._handle_event(eio_sid, namespace, id, data)

    async def _handle_event_internal(
        self, server: Any, sid: str, eio_sid: str, data: list[Any], namespace: str, id: Any
    ) -> None:
        event, args = data[0], data[1:]
        if self.declared(namespace, event):
            await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)
            return
        catch_all = self.handlers.get(namespace, {}).get("*")
        if catch_all is None:
            return
        reply = await catch_all(event, sid, *args)
        if id is not None:
            ack = self.packet_class(packet.ACK, namespace=namespace, id=id, data=[reply])
            await self._send_packet(eio_sid, ack)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except BadPacket as exc:
            log.warning("dropping client %s: malformed packet (%s)", eio_sid, exc)
            await self.eio.disconnect(eio_sid)
        except ValueError as exc:
            log.warning("dropping client %s: protocol error (%s)", eio_sid, exc)
            await self.eio.disconnect(eio_sid)
