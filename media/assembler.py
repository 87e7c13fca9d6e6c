"""Frame assembly on a publish receiver: RTP packets in, whole encoded frames out.

:class:`FrameAssembler` takes the place of aiortc's ``JitterBuffer`` inside an
``RTCRtpReceiver``. The receiver still does SRTP, RTX unwrapping, NACKs and
RTCP; it calls ``add()`` once per packet and would hand any frame ``add()``
returns to its decoder thread. The assembler returns none, so nothing is ever
decoded: it hands each complete frame, as the publisher's own RTP payloads, to
``on_frame`` instead.

Unlike aiortc's buffer, a video frame is released as soon as its marker packet
(and every packet before it) is in, not when the next frame starts, and audio
is not prefetched: the server adds no frame of delay.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from media.keyframe import (
    h264_carries_keyframe,
    h264_starts_keyframe,
    vp8_starts_keyframe,
)
from media.level import ENERGY, Meter


class RtpPacketLike(Protocol):
    """The fields of ``aiortc.rtp.RtpPacket`` the assembler reads."""

    sequence_number: int
    timestamp: int
    marker: int
    ssrc: int
    payload: bytes
    extensions: Any
    """``aiortc.rtp.HeaderExtensions``: ``audio_level`` is ``(voice, level)`` or None."""


class EncodedFrame:
    """One encoded frame, as the RTP payloads the publisher sent it in."""

    __slots__ = ("arrival", "keyframe", "payloads", "timestamp")

    def __init__(
        self, payloads: tuple[bytes, ...], timestamp: int, keyframe: bool, arrival: float
    ) -> None:
        self.payloads = payloads
        self.timestamp = timestamp
        """RTP timestamp of the publisher's stream."""
        self.keyframe = keyframe
        """Decodable on its own (always true for audio)."""
        self.arrival = arrival
        """``time.monotonic()`` when its last packet came in."""


FrameHandler = Callable[[EncodedFrame], None]

_CAPACITY = 1024  # packets held while a frame waits for a retransmission
_MAX_GAP_WAIT = 0.25  # seconds a hole may wait for a NACKed packet before resync


def _seq_gt(a: int, b: int) -> bool:
    """RTP sequence number ``a`` comes after ``b`` (modulo 2**16)."""
    return a != b and ((a - b) & 0xFFFF) < 0x8000


class FrameAssembler:
    """Stands in for aiortc's ``JitterBuffer``: see the module docstring.

    For video it keeps frames in order and whole: a frame is released only
    when every packet since the previous frame is in. If a hole outlives
    ``max_gap_wait`` (the retransmission did not come), it skips to the next
    keyframe it holds, or waits for one, and calls ``on_lost(retry)`` so a
    keyframe is requested (``retry`` is true while it keeps waiting). A
    subscriber therefore never gets a frame whose reference it missed.
    """

    def __init__(
        self,
        kind: str,
        codec: str,
        on_frame: FrameHandler,
        on_lost: Callable[[bool], None],
        *,
        max_gap_wait: float = _MAX_GAP_WAIT,
        clock: Callable[[], float] = time.monotonic,
        meter: Meter | None = None,
    ) -> None:
        self._video = kind == "video"
        self._meter = meter
        """Where an audio packet's RFC 6464 level goes (`media.level`), if anywhere."""
        codec = codec.upper()
        if self._video and codec not in ("VP8", "H264"):
            raise ValueError(f"cannot assemble {codec} frames")
        self._starts_keyframe = vp8_starts_keyframe if codec == "VP8" else h264_starts_keyframe
        self._h264 = codec == "H264"
        self._on_frame = on_frame
        self._on_lost = on_lost
        self._max_gap_wait = max_gap_wait
        self._clock = clock
        self._ring: list[RtpPacketLike | None] = [None] * _CAPACITY
        self._next: int | None = None  # first packet of the next frame to release
        self._highest = 0
        self._held = 0
        self._gap_since: float | None = None
        self.ssrc: int | None = None
        """SSRC of the publisher's stream, once a packet came in."""
        self.frames = 0
        self.resyncs = 0

    # The receiver's interface: add() returns (pli_flag, frame_for_decoder).
    def add(self, packet: RtpPacketLike) -> tuple[bool, None]:
        self.ssrc = packet.ssrc
        if self._video:
            self._add_video(packet)
        else:
            self._add_audio(packet)
        return False, None

    def _add_audio(self, packet: RtpPacketLike) -> None:
        seq = packet.sequence_number
        if self._next is not None and not _seq_gt(seq, self._next):
            return  # late or duplicate: the stream has moved on
        self._next = seq
        meter = self._meter
        if meter is not None:
            level = packet.extensions.audio_level  # parsed by aiortc already
            if level is not None:
                meter.energy += ENERGY[level[1]]
                meter.count += 1
        if packet.payload:
            self.frames += 1
            self._on_frame(EncodedFrame((packet.payload,), packet.timestamp, True, self._clock()))

    def _add_video(self, packet: RtpPacketLike) -> None:
        seq = packet.sequence_number
        if self._next is None:
            if not (packet.payload and self._starts_keyframe(packet.payload)):
                self._on_lost(True)  # still waiting: the caller throttles retries
                return
            self._next = seq
            self._highest = seq
        elif seq == self._next or _seq_gt(seq, self._next):
            if ((seq - self._next) & 0xFFFF) >= _CAPACITY:
                self._clear()  # a hole wider than the ring: start over
                self.resyncs += 1
                self._on_lost(False)
                self._add_video(packet)
                return
        else:
            return  # older than what was released already
        slot = seq % _CAPACITY
        held = self._ring[slot]
        if held is not None and held.sequence_number == seq:
            return  # duplicate
        self._ring[slot] = packet
        self._held += 1
        in_order = seq == ((self._highest + 1) & 0xFFFF)
        if _seq_gt(seq, self._highest):
            self._highest = seq
        if packet.marker or not in_order or not packet.payload:
            self._release()
        self._check_gap()

    def _release(self) -> None:
        """Hand out every complete frame at the head of the ring."""
        ring = self._ring
        while self._next is not None:
            start = self._next
            first = ring[start % _CAPACITY]
            if first is None or first.sequence_number != start:
                return
            if not first.payload:  # padding between frames
                ring[start % _CAPACITY] = None
                self._held -= 1
                self._next = (start + 1) & 0xFFFF
                continue
            timestamp = first.timestamp
            payloads: list[bytes] = []
            seq = start
            while True:
                packet = ring[seq % _CAPACITY]
                if packet is None or packet.sequence_number != seq:
                    return  # incomplete: wait for the rest or a retransmission
                if packet.timestamp != timestamp:
                    break  # the frame ended without a marker
                payloads.append(packet.payload)
                seq = (seq + 1) & 0xFFFF
                if packet.marker:
                    break
            for i in range(len(payloads)):
                ring[(start + i) % _CAPACITY] = None
            self._held -= len(payloads)
            self._next = seq
            self._emit(payloads, timestamp)

    def _emit(self, payloads: list[bytes], timestamp: int) -> None:
        if self._h264:
            keyframe = any(h264_carries_keyframe(p) for p in payloads)
        else:
            keyframe = vp8_starts_keyframe(payloads[0])
        self.frames += 1
        self._on_frame(EncodedFrame(tuple(payloads), timestamp, keyframe, self._clock()))

    def _check_gap(self) -> None:
        if self._next is None or self._held == 0:
            self._gap_since = None
            return
        span = ((self._highest - self._next) & 0xFFFF) + 1
        if self._held >= span:
            self._gap_since = None  # no hole: a frame is still coming in
            return
        now = self._clock()
        if self._gap_since is None:
            self._gap_since = now
        elif now - self._gap_since > self._max_gap_wait:
            self._resync()

    def _resync(self) -> None:
        """Give up on the hole: jump to the next held keyframe, or wait for one."""
        self.resyncs += 1
        self._gap_since = None
        ring = self._ring
        restart: int | None = None
        if self._next is not None:
            seq = self._next
            end = (self._highest + 1) & 0xFFFF
            while seq != end:
                packet = ring[seq % _CAPACITY]
                if packet is not None and packet.sequence_number == seq:
                    if restart is None and packet.payload and self._starts_keyframe(packet.payload):
                        restart = seq
                    if restart is None:
                        ring[seq % _CAPACITY] = None
                        self._held -= 1
                seq = (seq + 1) & 0xFFFF
        if restart is None:
            self._clear()
        else:
            self._next = restart
        self._on_lost(False)
        self._release()

    def _clear(self) -> None:
        self._ring = [None] * _CAPACITY
        self._held = 0
        self._next = None
        self._gap_since = None
