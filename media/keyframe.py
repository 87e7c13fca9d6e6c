"""Keyframes: spotting them in RTP payloads, and asking publishers for them, throttled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

# H.264 NAL unit types (RFC 6184).
_NAL_IDR = 5
_NAL_SPS = 7
_NAL_STAP_A = 24
_NAL_FU_A = 28


def _vp8_header_offset(payload: bytes) -> int:
    """Length of the VP8 payload descriptor (RFC 7741 section 4.2), or -1."""
    size = len(payload)
    if size < 1:
        return -1
    pos = 1
    if payload[0] & 0x80:  # X: extended control bits follow
        if size < 2:
            return -1
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # I: PictureID, 7 or 15 bits
            if size <= pos:
                return -1
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            pos += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX
            pos += 1
    return pos if pos < size else -1


def vp8_starts_keyframe(payload: bytes) -> bool:
    """True if this VP8 RTP payload is the first packet of a keyframe."""
    if len(payload) < 2 or payload[0] & 0x1F != 0x10:  # S=1 and PID=0
        return False
    pos = _vp8_header_offset(payload)
    # VP8 frame tag, RFC 6386 section 9.1: bit 0 clear means keyframe.
    return pos > 0 and not payload[pos] & 0x01


def h264_nal_types(payload: bytes) -> list[int]:
    """NAL unit types carried (or started) by one H.264 RTP payload."""
    if len(payload) < 2:
        return []
    nal = payload[0] & 0x1F
    if nal == _NAL_STAP_A:
        types = []
        pos = 1
        while pos + 2 < len(payload):
            length = (payload[pos] << 8) | payload[pos + 1]
            types.append(payload[pos + 2] & 0x1F)
            pos += 2 + length
        return types
    if nal == _NAL_FU_A:
        return [payload[1] & 0x1F] if payload[1] & 0x80 else []
    return [nal]


def h264_starts_keyframe(payload: bytes) -> bool:
    """True if this H.264 RTP payload opens an IDR access unit (SPS or IDR first)."""
    types = h264_nal_types(payload)
    return bool(types) and types[0] in (_NAL_SPS, _NAL_IDR)


def h264_carries_keyframe(payload: bytes) -> bool:
    """True if this H.264 RTP payload carries (part of) an IDR picture or an SPS."""
    types = h264_nal_types(payload)
    return _NAL_IDR in types or _NAL_SPS in types


class KeyframeRequester:
    """Sends a publisher at most one keyframe request (PLI) per ``min_interval``.

    A request that comes too soon is not lost: it is sent when the interval
    ends, unless a keyframe arrived in between and so already answered it.
    ``retry`` requests (a subscriber still waiting) are only sent once
    ``retry_interval`` has passed since the last request, so a waiting
    subscriber does not turn the stream into all keyframes.
    """

    def __init__(
        self,
        send: Callable[[], bool],
        *,
        min_interval: float = 0.5,
        retry_interval: float = 1.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._min_interval = min_interval
        self._retry_interval = retry_interval
        self._clock = clock
        self._last_sent = -1e9
        self._timer: asyncio.TimerHandle | None = None
        self.sent = 0

    def request(self, *, retry: bool = False) -> None:
        now = self._clock()
        since = now - self._last_sent
        if retry:
            if since >= self._retry_interval and self._timer is None:
                self._fire()
            return
        if since >= self._min_interval:
            self._fire()
        elif self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._min_interval - since, self._fire)

    def keyframe_arrived(self) -> None:
        """A keyframe came in: it answers any request still waiting to be sent."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        self.keyframe_arrived()

    def _fire(self) -> None:
        self._timer = None
        if self._send():
            self._last_sent = self._clock()
            self.sent += 1
