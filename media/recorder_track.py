"""One recorded track: encoded frames muxed into a WebM (or Matroska) file with PyAV,
no codec run.

A VP8 frame's RTP payloads lose their payload descriptor (RFC 7741) and are
concatenated into the frame as the encoder produced it; an Opus frame is its
RTP payload as is; an H.264 frame is depacketized into an Annex-B access unit
(``media.recorder_h264``) and written into Matroska (``.mkv``), its first
keyframe's SPS/PPS as the stream's extradata. Packets' pts are the RTP
timestamps (90 kHz video, 48 kHz audio) rebased to the track's first frame. The
file opens at the first frame (for video, the first keyframe, which also gives the picture size).

PyAV's muxer opens the stream's codec context to finalise its parameters (for
Opus that yields the ``OpusHead`` the WebM header needs), but no frame is ever
encoded or decoded: packets are muxed as they came.
"""

from __future__ import annotations

import fractions
import logging
from pathlib import Path
from typing import Any

import av
from aiortc.codecs.vpx import VpxPayloadDescriptor

from media.assembler import EncodedFrame
from media.recorder_h264 import h264_access_unit, h264_size, parameter_sets

logger = logging.getLogger(__name__)

_CLOCK = {"video": 90000, "audio": 48000}
_CODECS = {"VP8": "vp8", "opus": "opus", "H264": "h264"}
_FORMATS = {"H264": ("matroska", "mkv")}
"""The container of a codec that WebM does not carry (format, file extension)."""


_MUX = {"cluster_time_limit": "1000", "flush_packets": "1"}
"""A cluster at least every second, on disk as soon as it is complete: a file whose writer
is killed is readable up to its last second."""


def recordable(codec: str) -> bool:
    """Whether a track of this codec is recorded."""
    return codec in _CODECS


def extension(codec: str) -> str:
    """The file extension of a track of this codec (``webm``, ``mkv``)."""
    return _FORMATS.get(codec, ("webm", "webm"))[1]


def vp8_frame(payloads: tuple[bytes, ...]) -> bytes:
    """The VP8 frame carried by these RTP payloads (descriptors stripped)."""
    parts = []
    for payload in payloads:
        _, data = VpxPayloadDescriptor.parse(payload)
        parts.append(data)
    return b"".join(parts)


def vp8_size(frame: bytes) -> tuple[int, int] | None:
    """(width, height) of a VP8 keyframe, from its uncompressed header."""
    if len(frame) < 10 or frame[0] & 1 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(frame[6:8], "little") & 0x3FFF
    height = int.from_bytes(frame[8:10], "little") & 0x3FFF
    return width, height


class TrackFile:
    """One track's file in a recording."""

    def __init__(
        self, path: Path, kind: str, codec: str, person: str, source: str, offset: float
    ) -> None:
        self.path = path
        self.kind = kind
        self.codec = codec
        self.person = person
        self.source = source
        self.offset = offset
        """Seconds from the recording's start to this track's."""
        self.stopped: float | None = None
        self.frames = 0
        self._container: Any = None
        self._stream: Any = None
        self._first_ts: int | None = None
        self._last_pts = -1
        self._time_base = fractions.Fraction(1, _CLOCK[kind])

    def write(self, frame: EncodedFrame) -> None:
        if self.stopped is not None:
            return
        data = self._frame_data(frame.payloads)
        if self._container is None:
            if not self._open(frame, data):
                return  # video waits for a keyframe
        assert self._first_ts is not None
        pts = (frame.timestamp - self._first_ts) & 0xFFFFFFFF
        if pts >= 0x80000000 or pts <= self._last_pts:
            return  # reordered or repeated: a muxer wants increasing timestamps
        self._last_pts = pts
        packet = av.Packet(data)
        packet.stream = self._stream
        packet.time_base = self._time_base
        packet.pts = packet.dts = pts
        packet.is_keyframe = frame.keyframe
        self._container.mux(packet)
        self.frames += 1

    def _frame_data(self, payloads: tuple[bytes, ...]) -> bytes:
        if self.codec == "VP8":
            return vp8_frame(payloads)
        if self.codec == "H264":
            return h264_access_unit(payloads)
        return b"".join(payloads)

    def _open(self, frame: EncodedFrame, data: bytes) -> bool:
        size: tuple[int, int] | None = None
        extradata: bytes | None = None
        if self.kind == "video" and frame.keyframe:
            if self.codec == "H264":
                size, extradata = h264_size(data), parameter_sets(data)
                if extradata is None:
                    size = None
            else:
                size = vp8_size(data)
        if self.kind == "video" and size is None:
            return False
        container = av.open(
            str(self.path), "w", format=_FORMATS.get(self.codec, ("webm",))[0], options=_MUX
        )
        stream: Any
        if size is not None:
            stream = container.add_stream(_CODECS[self.codec], rate=30)
            stream.width, stream.height = size
            if extradata is not None:
                stream.codec_context.extradata = extradata
        else:
            stream = container.add_stream(_CODECS[self.codec], rate=48000)
            stream.layout = "stereo"
        stream.time_base = self._time_base
        self._container, self._stream = container, stream
        self._first_ts = frame.timestamp
        return True

    def close(self, at: float) -> None:
        if self.stopped is not None:
            return
        self.stopped = at
        if self._container is not None:
            try:
                self._container.close()
            except Exception:
                logger.exception("recording: closing %s failed", self.path)

    def size_bytes(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "codec": self.codec,
            "person": self.person,
            "source": self.source,
            "file": self.path.name,
            "started": round(self.offset, 3),
            "stopped": None if self.stopped is None else round(self.stopped, 3),
            "frames": self.frames,
        }
