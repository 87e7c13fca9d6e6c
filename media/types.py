"""Public records of the media package: sources, stage tracks, offers, ICE servers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote

Source = Literal["camera", "mic", "screen"]
"""What a published track carries; signaling shows one tile per source."""

Kind = Literal["audio", "video"]
"""The WebRTC media kind of a track."""

PeerRole = Literal["publisher", "subscriber"]

VideoCodec = Literal["VP8", "H264"]
"""The one video codec an :class:`~media.sfu.Sfu` forwards (Opus for audio)."""

SOURCE_KIND: dict[Source, Kind] = {"camera": "video", "screen": "video", "mic": "audio"}
SOURCES: tuple[Source, ...] = ("camera", "mic", "screen")


@dataclass(frozen=True)
class StageTrack:
    """A published track on stage, and the subscriber slot that carries it.

    ``mid`` is the m-line id of that slot in every subscribe connection: a
    client maps ``RTCRtpTransceiver.mid`` to the tile of ``(publisher_id,
    source)``.
    """

    publisher_id: str
    source: Source
    kind: Kind
    mid: str


@dataclass(frozen=True)
class Slot:
    """One pre-negotiated m-line of a subscribe connection."""

    mid: str
    kind: Kind


@dataclass(frozen=True)
class SubscribeOffer:
    """The server's offer for a subscribe connection, and the slots it holds."""

    sdp: str
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class IceServer:
    """A STUN or TURN server handed to every peer connection."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None

    @classmethod
    def parse(cls, text: str) -> IceServer:
        """Read ``stun:host:port`` or ``turn:user:secret@host:port[?transport=udp]``.

        User and secret are percent-decoded, so a secret may hold ``@`` or ``:``
        written as ``%40`` / ``%3A``.
        """
        scheme, sep, rest = text.partition(":")
        if not sep or scheme not in ("stun", "stuns", "turn", "turns") or not rest:
            raise ValueError(f"not a STUN/TURN url: {text!r}")
        if "@" not in rest:
            return cls(urls=(text,))
        creds, _, where = rest.rpartition("@")
        user, sep, secret = creds.partition(":")
        if not sep or not user or not where:
            raise ValueError(f"TURN url needs user:secret@host: {text!r}")
        return cls(
            urls=(f"{scheme}:{where}",),
            username=unquote(user),
            credential=unquote(secret),
        )


DELAY_BUCKETS: tuple[float, ...] = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
"""Upper bounds (seconds) of the forwarding delay buckets in `SfuStats`."""


@dataclass
class SfuStats:
    """Counters for tests, benchmarks and the stats page."""

    publishers: int = 0
    subscribers: int = 0
    peers: int = 0
    frames_received: int = 0
    frames_forwarded: int = 0
    frames_dropped: int = 0
    keyframe_requests: int = 0
    per_subscriber: dict[str, int] = field(default_factory=dict)
    """Frames queued for each subscriber so far."""
    packets_forwarded: int = 0
    bytes_forwarded: int = 0
    """RTP payload bytes written to subscribers (headers and SRTP not counted)."""
    delay_counts: list[int] = field(default_factory=lambda: [0] * (len(DELAY_BUCKETS) + 1))
    """Forwarded frames per forwarding delay bucket (`DELAY_BUCKETS`, then the rest): from
    the frame's last packet arriving to its packets being written."""
    delay_sum: float = 0.0
    """Seconds of forwarding delay, summed over the forwarded frames."""


@dataclass(frozen=True)
class Speaker:
    """The active speaker: whose audio track, and its source."""

    publisher_id: str
    source: Source


StageListener = Callable[[tuple[StageTrack, ...]], None]
SpeakerListener = Callable[[Speaker | None, bool], None]
"""Told the active speaker (None: no one) and whether it changed (else a refresh)."""
PeerClosedListener = Callable[[str, PeerRole], None]
