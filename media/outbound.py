"""Outbound RTP: forwarded frames written straight onto a subscriber's SRTP transport.

aiortc's ``RTCRtpSender`` would take each frame from a track in a task of its
own and push every packet through five coroutine layers; at a hundred
subscribers that per-(frame, subscriber) wake-up and per-packet overhead is
most of the server's CPU (see ``docs/media.md``). An :class:`RtpWriter` takes
over the sender's RTP loop instead: the feed's fan-out calls :meth:`write`
synchronously, which hands the frame to ``media.wire``: headers written into
one preallocated buffer, protected there in place with the connection's SRTP
session, and a frame's packets given to the ICE pair's socket in one
``sendmsg`` (UDP segmentation offload). Sender reports go out once per connection from
:class:`SenderReports`, only for slots that sent something, instead of from one
aiortc task per sender (17 per subscriber, idle slots included: a third of the
server's CPU at fifty subscribers). Everything else stays aiortc's: ICE, DTLS,
SRTP keys, incoming RTCP, NACK (answered from our history, with RTX when
negotiated) and PLI/FIR (routed to the publisher by the caller).
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
import time
from array import array
from collections.abc import Callable

from aiortc import RTCRtpSender
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpSendParameters
from aiortc.rtp import RtcpSdesPacket, RtcpSenderInfo, RtcpSourceInfo, RtcpSrPacket

from media import rtc, wire

logger = logging.getLogger(__name__)

_HEADER = wire.HEADER
_HISTORY = 128  # packets kept for retransmission, as aiortc does
_NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900 to 1970
_MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
_ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"


def ntp_now() -> int:
    """Current time as a 64-bit NTP timestamp."""
    return int((time.time() + _NTP_EPOCH_OFFSET) * 4294967296.0)


class RtpWriter:
    """Writes one slot of one subscriber: the sender's SSRC, sequence and history.

    Created right after ``addTransceiver``; it becomes :attr:`ready` when
    aiortc starts the sender (DTLS connected) and calls :attr:`on_ready` then.
    """

    def __init__(self, sender: RTCRtpSender) -> None:
        self._sender = sender
        self.on_ready: Callable[[], None] = lambda: None
        self._ssrc = sender._ssrc
        self._rtx_ssrc = sender._rtx_ssrc
        self._seq = random.randrange(32768)
        self._rtx_seq = random.randrange(32768)
        # Retransmission history in parallel arrays, made on the first write
        # (most slots of most subscribers stay idle), and only when the slot
        # negotiated NACK (video). A tuple per packet would outlive the young GC
        # generations and, at 20k packets a second, set off full collections of
        # the whole heap (measured: 0.8 s).
        self._nack = False
        self._sent_seq = array("l")
        self._sent_ts = array("L")
        self._sent_marker = bytearray()
        self._sent_payload: list[bytes] = []
        self._pt = 0
        self._rtx_pt: int | None = None
        self._ext_head = b""  # one-byte header extension block up to abs-send-time
        self._abs_send_time = False
        self._ext_pad = b""
        self._route: wire.Route | None = None
        self._cname = b""
        self._octets = 0
        self._last_ntp = 0
        self._last_ts = 0
        self.packets = 0
        self.retransmitted = 0
        self.ready = False
        rtc.take_over_sender(sender, self._configure, self._run, self._retransmit, self._stopped)

    def _configure(self, parameters: RTCRtpSendParameters) -> None:
        codecs: list[RTCRtpCodecParameters] = parameters.codecs
        self._pt = codecs[0].payloadType or 0
        self._nack = any(fb.type == "nack" and not fb.parameter for fb in codecs[0].rtcpFeedback)
        self._cname = (parameters.rtcp.cname or "").encode()
        for codec in codecs:
            if codec.mimeType.lower().endswith("/rtx") and (
                codec.parameters.get("apt") == self._pt
            ):
                self._rtx_pt = codec.payloadType
        elements = b""
        for ext in parameters.headerExtensions:
            if ext.uri == _MID_URI and parameters.muxId:
                mid = parameters.muxId.encode()
                elements += bytes([(ext.id << 4) | (len(mid) - 1)]) + mid
        for ext in parameters.headerExtensions:
            if ext.uri == _ABS_SEND_TIME_URI:
                elements += bytes([(ext.id << 4) | 2])
                self._abs_send_time = True
        if elements:
            size = len(elements) + (3 if self._abs_send_time else 0)
            self._ext_pad = b"\x00" * (-size % 4)
            self._ext_head = struct.pack("!HH", 0xBEDE, (size + 3) // 4) + elements

    async def _run(self, codec: RTCRtpCodecParameters) -> None:
        """Stands in for the sender's RTP loop: takes the route and marks the writer
        ready, then returns (the feed's fan-out calls :meth:`write`)."""
        try:
            self._route = wire.Route(*rtc.srtp_route(self._sender))
        except ConnectionError:
            return
        self.ready = True
        self.on_ready()

    def _stopped(self) -> None:
        self.ready = False
        self._route = None

    def backlog(self) -> int:
        """Bytes queued in user space on this subscriber's socket (0 normally)."""
        route = self._route
        return int(route.udp.get_write_buffer_size()) if route is not None else 0

    def write(self, payloads: tuple[bytes, ...], timestamp: int) -> None:
        """Send one frame: one RTP packet per payload, marker on the last."""
        route = self._route
        if route is None or route.udp.is_closing():
            return
        ntp = ntp_now()
        ext = self._extensions(ntp)
        seq = self._seq
        if self._nack:
            self._remember(payloads, seq, timestamp)
        wire.send_frame(
            route, 0x90 if ext else 0x80, self._pt, seq, timestamp, self._ssrc, ext, payloads
        )
        self._seq = (seq + len(payloads)) & 0xFFFF
        self._octets += sum(map(len, payloads))
        self.packets += len(payloads)
        self._last_ntp, self._last_ts = ntp, timestamp

    def _remember(self, payloads: tuple[bytes, ...], seq: int, timestamp: int) -> None:
        """Keep the packets for NACKs: the payloads are the frame's own (shared by
        every subscriber), the rest fixed-size arrays (no object per packet)."""
        if not self._sent_payload:
            self._sent_seq = array("l", [-1]) * _HISTORY
            self._sent_ts = array("L", [0]) * _HISTORY
            self._sent_marker = bytearray(_HISTORY)
            self._sent_payload = [b""] * _HISTORY
        sent_seq, sent_ts = self._sent_seq, self._sent_ts
        sent_marker, sent_payload = self._sent_marker, self._sent_payload
        last = len(payloads) - 1
        for i, payload in enumerate(payloads):
            slot = seq % _HISTORY
            sent_seq[slot] = seq
            sent_ts[slot] = timestamp
            sent_marker[slot] = 0x80 if i == last else 0
            sent_payload[slot] = payload
            seq = (seq + 1) & 0xFFFF

    def sender_report(self) -> RtcpSrPacket:
        """RTCP SR for this slot: what was sent, and the NTP/RTP pair for lip sync."""
        info = RtcpSenderInfo(
            ntp_timestamp=self._last_ntp,
            rtp_timestamp=self._last_ts,
            packet_count=self.packets & 0xFFFFFFFF,
            octet_count=self._octets & 0xFFFFFFFF,
        )
        return RtcpSrPacket(ssrc=self._ssrc, sender_info=info)

    def source_description(self) -> RtcpSourceInfo:
        return RtcpSourceInfo(ssrc=self._ssrc, items=[(1, self._cname)])  # 1: CNAME

    def send_rtcp(self, data: bytes) -> None:
        route = self._route
        if route is not None and not route.udp.is_closing():
            route.udp.sendto(route.session.protect_rtcp(data), route.addr)

    def _extensions(self, ntp: int) -> bytes:
        if not self._ext_head:
            return b""
        if self._abs_send_time:
            return self._ext_head + ((ntp >> 14) & 0xFFFFFF).to_bytes(3, "big") + self._ext_pad
        return self._ext_head + self._ext_pad

    async def _retransmit(self, seq: int) -> None:
        """Answer a NACK from history, wrapped in RTX (RFC 4588) when negotiated."""
        slot = seq % _HISTORY
        route = self._route
        if not self._sent_payload or self._sent_seq[slot] != seq:
            return
        if route is None or route.udp.is_closing():
            return
        timestamp, marker = self._sent_ts[slot], self._sent_marker[slot]
        payload = self._sent_payload[slot]
        ext = self._extensions(ntp_now())
        first = 0x90 if ext else 0x80
        if self._rtx_pt is None:
            header = _HEADER.pack(first, marker | self._pt, seq, timestamp, self._ssrc)
        else:
            header = _HEADER.pack(
                first, marker | self._rtx_pt, self._rtx_seq, timestamp, self._rtx_ssrc
            )
            payload = struct.pack("!H", seq) + payload
            self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
        route.udp.sendto(route.session.protect(header + ext + payload), route.addr)
        self.retransmitted += 1


class SenderReports:
    """One RTCP task per subscriber connection: a compound SR + SDES, every
    0.5-1.5 s (RFC 3550's randomized interval), for the slots that sent media."""

    _MAX_CHUNKS = 31  # SDES source count is five bits

    def __init__(self, writers: list[RtpWriter]) -> None:
        self._writers = writers
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.5 + random.random())
            self.send()

    def send(self) -> None:
        active = [w for w in self._writers if w.ready and w.packets]
        for i in range(0, len(active), self._MAX_CHUNKS):
            group = active[i : i + self._MAX_CHUNKS]
            sdes = RtcpSdesPacket(chunks=[w.source_description() for w in group])
            data = b"".join(bytes(w.sender_report()) for w in group) + bytes(sdes)
            group[0].send_rtcp(data)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
