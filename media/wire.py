"""A frame's RTP packets onto a subscriber's socket: one buffer, few syscalls.

Sending a frame used to cost, per packet and subscriber, a header ``bytes``,
two concatenations, pylibsrtp's copy in and copy out, and a pass through
asyncio's ``sendto`` into one ``sendto`` syscall each. :func:`send_frame`
instead writes each packet (header, extensions, payload) straight into one
preallocated buffer, protects it there in place with libsrtp (the
subscriber's own session: keys differ per subscriber, and libsrtp has no batch
call), and hands the kernel every run of equal-sized packets in one
``sendmsg`` with UDP generic segmentation offload (``UDP_SEGMENT``, Linux
4.18+): the kernel cuts the buffer back into datagrams, byte for byte what
one ``sendto`` each would send. A frame's packets are equal-sized but for the
last (the publisher's packetizer splits evenly), so a video frame usually goes
out in one syscall instead of five or more.

No dependency does this better: ``sendmmsg`` is not in the standard library,
the one wrapper on the package index is an unmaintained 0.0.2, and it would
batch the same packets (one socket per subscriber) with more work per packet.

Fallbacks keep every packet: a socket with a user-space backlog (asyncio's
transport buffered after ``EAGAIN``) gets its packets through the transport,
in order; a kernel or interface that refuses GSO turns it off for the process
(packets then go one ``sendto`` each), as does an event loop whose datagram
transport exposes no socket (uvloop).
"""

from __future__ import annotations

import errno
import logging
import socket
import struct
from typing import Any

from media import rtc

logger = logging.getLogger(__name__)

HEADER = struct.Struct("!BBHII")
UDP_SEGMENT = getattr(socket, "UDP_SEGMENT", 103)  # linux/udp.h
_SOL_UDP = getattr(socket, "SOL_UDP", 17)
_MAX_SEGMENTS = 64  # UDP_MAX_SEGMENTS
_MAX_GSO_BYTES = 65000  # one UDP datagram before segmentation
_ROOM = 1600  # a packet and its SRTP trailer, at most
_GSO_REFUSED = {errno.EIO, errno.EINVAL, errno.ENOPROTOOPT, errno.EOPNOTSUPP}

_SEGMENT_SIZE = struct.Struct("=H")  # the cmsg's u16, native order

_BUF = bytearray(2 * 65536)
_VIEW = memoryview(_BUF)
_BINDING = rtc.srtp_binding()
_PTR: Any = _BINDING.ffi.from_buffer(_BUF) if _BINDING else None
_LEN: Any = _BINDING.ffi.new("int *") if _BINDING else None
_PROTECT: Any = _BINDING.lib.srtp_protect if _BINDING else None
_gso = [True]


def gso_enabled() -> bool:
    return _gso[0]


def set_gso(enabled: bool) -> None:
    """Turn segmentation offload on or off for the process (tests compare both)."""
    _gso[0] = enabled


class Route:
    """Where one subscriber's packets go: its SRTP session, transport and address."""

    __slots__ = ("addr", "ctx", "session", "sock", "udp")

    def __init__(self, session: Any, udp: Any, addr: tuple[str, int]) -> None:
        self.session = session
        self.udp = udp
        self.addr = addr
        self.ctx = rtc.srtp_context(session) if _BINDING else None
        self.sock = rtc.datagram_socket(udp)


def send_frame(
    route: Route,
    first: int,
    pt: int,
    seq: int,
    timestamp: int,
    ssrc: int,
    ext: bytes,
    payloads: tuple[bytes, ...],
) -> None:
    """Protect and send one RTP packet per payload (marker on the last), from ``seq``."""
    if route.ctx is None:
        _send_slow(route, first, pt, seq, timestamp, ssrc, ext, payloads)
        return
    buf, pack_into, ctx = _BUF, HEADER.pack_into, route.ctx
    protect, ptr, length = _PROTECT, _PTR, _LEN
    direct = route.sock is not None and route.udp.get_write_buffer_size() == 0
    head = 12 + len(ext)
    last = len(payloads) - 1
    start = off = 0  # the pending group is buf[start:off]
    seg = count = 0  # its segment size and packets
    for i, payload in enumerate(payloads):
        n = head + len(payload)
        if off + n + _ROOM > len(buf):  # only for frames larger than the buffer
            direct = _flush(route, direct, start, off, seg, count)
            start = off = count = 0
        pack_into(buf, off, first, (0x80 if i == last else 0) | pt, seq, timestamp, ssrc)
        buf[off + 12 : off + head] = ext
        buf[off + head : off + n] = payload
        length[0] = n
        status = protect(ctx, ptr + off, length)
        if status:
            raise ConnectionError(f"srtp_protect failed: error {status}")
        size = length[0]
        seq = (seq + 1) & 0xFFFF
        if count and (size > seg or count == _MAX_SEGMENTS or off + size - start > _MAX_GSO_BYTES):
            direct = _flush(route, direct, start, off, seg, count)
            start, count = off, 0
        if count == 0:
            seg = size
        count += 1
        off += size
        if size < seg:  # a shorter packet ends a group
            direct = _flush(route, direct, start, off, seg, count)
            start, count = off, 0
    if count:
        _flush(route, direct, start, off, seg, count)


def _flush(route: Route, direct: bool, start: int, end: int, seg: int, count: int) -> bool:
    """Send buf[start:end] (``count`` packets of ``seg`` bytes, the last maybe
    shorter); returns whether the next group may still go straight to the socket."""
    sock = route.sock
    if direct and sock is not None:
        try:
            if count == 1:
                sock.sendto(_VIEW[start:end], route.addr)
            elif _gso[0]:
                cmsg = [(_SOL_UDP, UDP_SEGMENT, _SEGMENT_SIZE.pack(seg))]
                sock.sendmsg([_VIEW[start:end]], cmsg, 0, route.addr)
            else:
                direct = False  # no GSO: one by one, below
            if direct:
                return True
        except BlockingIOError:
            direct = False  # the kernel buffer is full: the transport queues the rest
        except OSError as exc:
            if count > 1 and exc.errno in _GSO_REFUSED and _gso[0]:
                _gso[0] = False
                logger.warning(
                    "media: UDP segmentation offload refused (%s); sending per packet", exc
                )
                _send_each(route, start, end, seg, direct_ok=True)
                return True
            direct = False  # let the transport report it (error_received), as before
    _send_each(route, start, end, seg, direct_ok=False)
    return direct


def _send_each(route: Route, start: int, end: int, seg: int, direct_ok: bool) -> None:
    udp, addr = route.udp, route.addr
    sock = route.sock if direct_ok else None
    while start < end:
        stop = min(start + seg, end)
        if sock is not None and udp.get_write_buffer_size() == 0:
            try:
                sock.sendto(_VIEW[start:stop], addr)
                start = stop
                continue
            except OSError:
                pass  # the transport buffers or reports it
        udp.sendto(bytes(_VIEW[start:stop]), addr)
        start = stop


def _send_slow(
    route: Route,
    first: int,
    pt: int,
    seq: int,
    timestamp: int,
    ssrc: int,
    ext: bytes,
    payloads: tuple[bytes, ...],
) -> None:
    """pylibsrtp's public API and asyncio's transport, one packet at a time."""
    protect, udp, addr = route.session.protect, route.udp, route.addr
    last = len(payloads) - 1
    for i, payload in enumerate(payloads):
        marker = 0x80 if i == last else 0
        udp.sendto(
            protect(HEADER.pack(first, marker | pt, seq, timestamp, ssrc) + ext + payload), addr
        )
        seq = (seq + 1) & 0xFFFF
